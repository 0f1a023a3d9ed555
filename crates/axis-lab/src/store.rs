//! Checkpoints on disk so that an interrupted build resumes where it stopped.
//!
//! A work directory holds `plan.json` (what is being generated), `rollouts.jsonl` (one line
//! per finished answer, in plan order) and `activations.f32` (one `[n_layers × hidden]`
//! little-endian record per answer, same order). Both are appended batch by batch and
//! flushed; on resume the shorter of the two decides how many answers are done and any torn
//! tail is cut off.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// One stored answer (its activation lives in `activations.f32`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub job: usize,
    pub text: String,
    pub n_tokens: usize,
    pub stopped: bool,
    /// Wall seconds of generation spent on this answer (its batch's time over the batch size),
    /// so that a resumed build still reports the whole rollout time. 0 in older checkpoints.
    #[serde(default)]
    pub seconds: f64,
}

pub struct RolloutStore {
    dir: PathBuf,
    record_floats: usize,
    pub answers: Vec<StoredAnswer>,
    pub activations: Vec<Vec<f32>>,
}

impl RolloutStore {
    /// Opens (or starts) the store in `dir` for `plan`. A store made for another plan is an
    /// error unless `restart` is set, which discards it.
    pub fn open(dir: &Path, plan: &Plan, record_floats: usize, restart: bool) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let plan_path = dir.join("plan.json");
        let plan_json = serde_json::to_string_pretty(plan)?;
        // The rollouts depend only on the jobs (prompts, questions, seeds): later stages may
        // change their own budget without invalidating them.
        let jobs = serde_json::to_value(&plan.jobs)?;
        let same_plan = std::fs::read_to_string(&plan_path)
            .ok()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
            .is_some_and(|stored| stored.get("jobs") == Some(&jobs));
        if !same_plan || restart {
            if plan_path.exists() && !restart {
                bail!(
                    "{} holds rollouts of a different plan (other seed, budget or data); \
                     pass --restart to discard them or choose another --work directory",
                    dir.display()
                );
            }
            for f in ["rollouts.jsonl", "activations.f32"] {
                let _ = std::fs::remove_file(dir.join(f));
            }
        }
        std::fs::write(&plan_path, plan_json)?;
        let mut store = RolloutStore {
            dir: dir.to_owned(),
            record_floats,
            answers: Vec::new(),
            activations: Vec::new(),
        };
        store.load()?;
        Ok(store)
    }

    fn load(&mut self) -> Result<()> {
        let answers_path = self.dir.join("rollouts.jsonl");
        let acts_path = self.dir.join("activations.f32");
        if let Ok(f) = File::open(&answers_path) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<StoredAnswer>(&line) {
                    Ok(a) if a.job == self.answers.len() => self.answers.push(a),
                    _ => break,
                }
            }
        }
        let record_bytes = self.record_floats * 4;
        if let Ok(mut f) = File::open(&acts_path) {
            let mut buf = vec![0u8; record_bytes];
            while self.activations.len() < self.answers.len() && f.read_exact(&mut buf).is_ok() {
                self.activations.push(
                    buf.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                );
            }
        }
        let done = self.answers.len().min(self.activations.len());
        self.answers.truncate(done);
        self.activations.truncate(done);
        // Cut torn tails so that appends continue cleanly.
        let mut text = String::new();
        for a in &self.answers {
            text.push_str(&serde_json::to_string(a)?);
            text.push('\n');
        }
        std::fs::write(&answers_path, text)?;
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&acts_path)?;
        f.set_len((done * record_bytes) as u64)?;
        Ok(())
    }

    /// Answers already done.
    pub fn done(&self) -> usize {
        self.answers.len()
    }

    /// Appends finished answers (in plan order) and flushes them to disk.
    pub fn append(&mut self, answers: Vec<(StoredAnswer, Vec<f32>)>) -> Result<()> {
        let mut jsonl = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.dir.join("rollouts.jsonl"))?;
        let mut acts = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join("activations.f32"))?;
        acts.seek(SeekFrom::Start(
            (self.activations.len() * self.record_floats * 4) as u64,
        ))?;
        for (answer, mut activation) in answers {
            if answer.job != self.answers.len() {
                bail!("answers must be stored in plan order");
            }
            // An empty answer has no activation: store zeros, it is excluded by its length.
            activation.resize(self.record_floats, 0.0);
            let bytes: Vec<u8> = activation.iter().flat_map(|v| v.to_le_bytes()).collect();
            acts.write_all(&bytes)?;
            writeln!(jsonl, "{}", serde_json::to_string(&answer)?)?;
            self.answers.push(answer);
            self.activations.push(activation);
        }
        acts.sync_data()?;
        jsonl.sync_data()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LabData, default_data_dir};
    use crate::plan::Budget;

    #[test]
    fn a_store_resumes_after_a_torn_write_and_refuses_another_plan() {
        let dir = std::env::temp_dir().join(format!("axis-lab-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data = LabData::load(&default_data_dir()).expect("data");
        let plan = Plan::new(&data, Budget::quick(), 1);
        let answer = |job: usize| StoredAnswer {
            job,
            text: format!("answer {job}"),
            n_tokens: 2,
            stopped: true,
            seconds: 0.5,
        };
        {
            let mut s = RolloutStore::open(&dir, &plan, 3, false).expect("open");
            s.append(vec![
                (answer(0), vec![1.0, 2.0, 3.0]),
                (answer(1), vec![4.0, 5.0, 6.0]),
            ])
            .expect("append");
        }
        // A crash in the middle of the third record: half its activation written.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join("activations.f32"))
            .expect("acts");
        f.write_all(&[0u8; 6]).expect("torn write");
        drop(f);
        let mut s = RolloutStore::open(&dir, &plan, 3, false).expect("reopen");
        assert_eq!(s.done(), 2);
        assert_eq!(s.activations[1], vec![4.0, 5.0, 6.0]);
        s.append(vec![(answer(2), vec![7.0, 8.0, 9.0])])
            .expect("append after resume");
        let s = RolloutStore::open(&dir, &plan, 3, false).expect("reopen");
        assert_eq!(s.activations[2], vec![7.0, 8.0, 9.0]);
        assert_eq!(s.answers[2].text, "answer 2");

        let other = Plan::new(&data, Budget::quick(), 2);
        assert!(RolloutStore::open(&dir, &other, 3, false).is_err());
        assert_eq!(
            RolloutStore::open(&dir, &other, 3, true)
                .expect("restart")
                .done(),
            0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
