//! The labelled answers' mean residual stream at a few layers, read in their own context
//! (system prompt, question, answer) and alone (the answer after an empty user turn), for
//! `scripts/probe_judge_cv.py`: can a probe on the model's own activations read the speaker
//! better than the rule judge? (Measured: no — lab README, "A probe judge".) Writes `OUT.bin`
//! (f32, `[view][answer][layer][hidden]`) and `OUT.json` (layers, views, and per answer its
//! id, split, person's label, prompt kind and the rule judge's reading).

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use engine::chat::ChatMessage;
use engine::model::PreparedInterventions;

use crate::agreement::{IdentityLabel, judge_label};
use crate::data::LabData;
use crate::judge::Judge;
use crate::loading::load_model;
use crate::rollout::{messages_for, reread_means};

pub fn run(
    model: &Path,
    data_dir: &Path,
    out: &Path,
    layers: &[usize],
    batch: usize,
) -> Result<()> {
    let data = LabData::load(data_dir)?;
    let judge = Judge::new(&data.markers, &data.roles, &data.questions);
    // One read: the rows keep the fields `IdentityLabel` does not hold (prompt, question, kind).
    let text = std::fs::read_to_string(data_dir.join("identity_labels.jsonl"))?;
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let labels: Vec<IdentityLabel> = rows
        .iter()
        .map(|r| serde_json::from_value(r.clone()))
        .collect::<Result<_, _>>()?;
    let loaded = load_model(model)?;
    let chat = &loaded.chat;
    let none = PreparedInterventions::none(chat.model().config().n_layers);
    let s =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    // "Alone": the answer after an empty user turn (the same head for every answer).
    let head = chat.prompt_tokens(&[ChatMessage::user("")])?;
    let mut in_context = Vec::new();
    let mut alone = Vec::new();
    for (row, l) in rows.iter().zip(&labels) {
        let answer = chat.tokenizer().encode(&l.answer)?;
        let prompt =
            chat.prompt_tokens(&messages_for(&s(row, "system_prompt"), &s(row, "question")))?;
        let mut seq = prompt;
        seq.extend_from_slice(&answer);
        in_context.push((seq, answer.len()));
        let mut seq = head.clone();
        seq.extend_from_slice(&answer);
        alone.push((seq, answer.len()));
    }
    let mut file = std::fs::File::create(out.with_extension("bin"))?;
    for (view, seqs) in [("context", &in_context), ("alone", &alone)] {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].0.len());
        let mut means = vec![Vec::new(); seqs.len()];
        for chunk in order.chunks(batch) {
            let part: Vec<(Vec<u32>, usize)> = chunk.iter().map(|&i| seqs[i].clone()).collect();
            for (&i, m) in chunk.iter().zip(reread_means(chat, &none, &part, layers)?) {
                means[i] = m;
            }
            eprint!(
                "\r{view}: {}/{}",
                means.iter().filter(|m| !m.is_empty()).count(),
                seqs.len()
            );
        }
        eprintln!();
        for m in means {
            for v in m {
                file.write_all(&v.to_le_bytes())?;
            }
        }
    }
    let index = serde_json::json!({
        "layers": layers,
        "hidden": chat.model().config().hidden_size,
        "views": ["context", "alone"],
        "rows": labels.iter().zip(&rows).map(|(l, row)| serde_json::json!({
            "id": l.id, "split": l.split, "label": s(row, "label"), "kind": s(row, "kind"),
            "judge": format!("{:?}", judge_label(&judge, &data, l).label(l.role.is_some())),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(out.with_extension("json"), serde_json::to_string(&index)?)
        .context("writing the index")?;
    Ok(())
}
