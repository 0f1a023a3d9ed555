//! axis-lab: computes, validates and ships the Assistant Axis for a GGUF chat model
//! (Lu et al. 2026; see `docs/design.md` §1 and this crate's README).

mod agreement;
mod build;
mod compute;
mod data;
mod drift;
mod eval;
mod identity;
mod judge;
mod judge_features;
mod label_export;
mod loading;
mod plan;
mod prompt_style;
mod repetition;
mod report;
mod rollout;
mod separability;
mod split;
mod stats;
mod steering;
mod store;
mod styles;
mod svg;
mod sweep;
#[cfg(test)]
mod test_model;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "axis-lab",
    version,
    about = "Compute, validate and ship the Assistant Axis of a GGUF chat model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every stage — rollouts, role-adherence filter, activations, axis, PCA, percentiles,
    /// monitor-layer choice and the capping sweep — then write the axis file. Resumable:
    /// rerun the same command after an interruption.
    Build {
        /// The GGUF model.
        #[arg(long)]
        model: PathBuf,
        /// Where to write the axis file (a `.report.json` is written beside it).
        #[arg(long)]
        out: PathBuf,
        /// Checkpoint directory [default: target/axis-lab/<model>[-quick]].
        #[arg(long)]
        work: Option<PathBuf>,
        /// Data directory (roles, questions, ...) [default: the crate's data/].
        #[arg(long)]
        data: Option<PathBuf>,
        /// A small sample for iterating (minutes instead of an hour).
        #[arg(long)]
        quick: bool,
        #[arg(long, default_value_t = 20261125)]
        seed: u64,
        /// Answers generated together (rows of one forward pass).
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Longest answer in tokens.
        #[arg(long, default_value_t = 96)]
        max_new_tokens: usize,
        /// Discard checkpoints made for another plan.
        #[arg(long)]
        restart: bool,
        /// Skip the capping sweep (the cap band falls back to the paper's shape).
        #[arg(long)]
        no_sweep: bool,
        /// The small sweep on a full build: the paper's default band at its four floors (5
        /// settings with the baseline, not 13) and five steering strengths, not seven.
        #[arg(long)]
        small_sweep: bool,
        /// Also write a Markdown validation report here, with SVG charts in a folder beside it.
        #[arg(long)]
        doc: Option<PathBuf>,
        /// Role prompts in four styles in turn (as written, without the "never say you are an
        /// AI" instruction, "Embody …", in the user's message), not only as written.
        #[arg(long)]
        mixed_styles: bool,
    },
    /// Score an existing axis file on any roles and questions (JSONL files in the format of
    /// data/roles.jsonl and data/questions.jsonl): per-role mean score at the monitor layer and
    /// the AUROC of default vs role answers.
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        axis: PathBuf,
        #[arg(long)]
        roles: PathBuf,
        #[arg(long)]
        questions: PathBuf,
        /// Data directory for the default prompts and the judge [default: the crate's data/].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Questions each role (and each default prompt) answers.
        #[arg(long, default_value_t = 4)]
        questions_per_role: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long, default_value_t = 80)]
        max_new_tokens: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// How well the judge agrees with the labelled answers of data/identity_labels.jsonl
    /// (labelled against data/RUBRIC.md): confusion matrix and Cohen's kappa (95 % bootstrap
    /// interval) on every split, and the second reader's agreement with the first.
    Agreement {
        /// Data directory [default: the crate's data/].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Also write every design-split answer's verdict and label here (JSON Lines), for
        /// working on the judge's rules. The held-out split is never written out.
        #[arg(long)]
        verdicts: Option<PathBuf>,
        /// Measure the learned judge of these weights (written by scripts/fit_judge.py, e.g.
        /// docs/measurements/speaker-judge-learned.json) instead of the rules.
        #[arg(long)]
        learned: Option<PathBuf>,
    },
    /// Every stored answer of a build's checkpoint with the conversation it answered (JSON
    /// Lines), for drawing a sample to label (scripts/label_sample.py).
    #[command(hide = true)]
    AnswersToLabel {
        /// The build's checkpoint directory (plan.json, rollouts.jsonl).
        #[arg(long)]
        work: PathBuf,
        /// Put before every id ("job<N>"), to keep builds apart in one labels file.
        #[arg(long, default_value = "")]
        id_prefix: String,
        #[arg(long)]
        out: PathBuf,
        /// Data directory the build used [default: the crate's data/].
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Exploration: mean residual streams of the labelled answers for a probe judge.
    #[command(hide = true)]
    JudgeFeatures {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_delimiter = ',', default_value = "4,8,12,16,20,24,28")]
        layers: Vec<usize>,
        #[arg(long, default_value_t = 16)]
        batch: usize,
    },
    /// How often multi-turn answers copy an earlier answer of their conversation: replays the
    /// drift conversations with the app's sampling at each echo penalty given (see
    /// docs/repetition.md).
    Repetition {
        #[arg(long)]
        model: PathBuf,
        /// An axis file for the model (answers are also scored, as in the drift chart).
        #[arg(long)]
        axis: PathBuf,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Echo penalties to compare, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0,3")]
        echo_penalties: Vec<f32>,
        /// Independent replays of every conversation (seeds 16, 1016, …).
        #[arg(long, default_value_t = 3)]
        seeds: usize,
        #[arg(long, default_value_t = 80)]
        max_new_tokens: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Does the axis measure the persona or the instruction, and does the cap engage on every
    /// kind of prompt? Held-out roles asked in four prompt styles (as written, descriptive,
    /// "Embody…", persona in the user's message), default prompts and the multi-turn scripts,
    /// uncapped and with the file's cap (see docs/axis-styles.md).
    Styles {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        axis: PathBuf,
        #[arg(long)]
        data: Option<PathBuf>,
        /// (prompt, question) pairs per held-out role, each asked in every style.
        #[arg(long, default_value_t = 2)]
        prompts_per_role: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long, default_value_t = 80)]
        max_new_tokens: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// The capping sweep on an existing axis file, with statistical power: 8 held-out persona
    /// prompts per held-out role (instructed, descriptive, "Embody…", in the user's message,
    /// over two turns) and the capability list, per setting. Choose on `--part selection`,
    /// confirm the choice on `--part confirmation` (see the lab README's protocol). Resumable.
    Sweep {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        axis: PathBuf,
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "selection")]
        part: sweep::persona_set::Part,
        #[arg(long, value_enum, default_value = "paper")]
        grid: sweep::command::GridKind,
        /// Band widths of the depth grid, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "2,4,6")]
        widths: Vec<usize>,
        /// Floors (percentiles of all answers), comma-separated [default: the paper's four].
        #[arg(long, value_delimiter = ',')]
        floors: Vec<engine::axis::Percentile>,
        /// Extra settings, e.g. `--setting 22-25@75` (repeatable).
        #[arg(long = "setting")]
        settings: Vec<String>,
        /// Capability questions (the first N of data/capability.jsonl).
        #[arg(long, default_value_t = 240)]
        capability_items: usize,
        /// Only the first N persona prompts (for trying the command out).
        #[arg(long)]
        persona_limit: Option<usize>,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Persona answer length in tokens.
        #[arg(long, default_value_t = 32)]
        max_new_tokens: usize,
        /// Capability answer length in tokens (greedy).
        #[arg(long, default_value_t = 24)]
        capability_tokens: usize,
        /// The baseline's persona answers are generated this long and cut, to measure what
        /// the shorter budget changes.
        #[arg(long, default_value_t = 64)]
        study_tokens: usize,
        #[arg(long, default_value_t = 40)]
        capability_study_tokens: usize,
        /// Where answers are kept [default: target/axis-lab/sweep-<axis file stem>].
        #[arg(long)]
        work: Option<PathBuf>,
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write the tables as Markdown here.
        #[arg(long)]
        doc: Option<PathBuf>,
        /// Make the chosen setting (or the paper's default when none is chosen) the axis
        /// file's default cap, with the sweep's summary in its metadata.
        #[arg(long)]
        write_axis: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build {
            model,
            out,
            work,
            data,
            quick,
            seed,
            batch,
            max_new_tokens,
            restart,
            no_sweep,
            small_sweep,
            doc,
            mixed_styles,
        } => {
            let stem = model
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("model")
                .to_owned();
            let work = work.unwrap_or_else(|| {
                PathBuf::from("target/axis-lab").join(if quick {
                    format!("{stem}-quick")
                } else {
                    stem
                })
            });
            build::build(&build::BuildOptions {
                model,
                out,
                work,
                data_dir: data.unwrap_or_else(data::default_data_dir),
                budget: plan::Budget {
                    small_sweep: quick || small_sweep,
                    mixed_styles,
                    ..if quick {
                        plan::Budget::quick()
                    } else {
                        plan::Budget::full()
                    }
                },
                doc,
                seed,
                batch: batch.max(1),
                max_new_tokens: max_new_tokens.max(1),
                restart,
                sweep: !no_sweep,
            })
        }
        Command::Eval {
            model,
            axis,
            roles,
            questions,
            data,
            questions_per_role,
            batch,
            max_new_tokens,
            seed,
            json,
        } => eval::eval(&eval::EvalOptions {
            model,
            axis,
            roles,
            questions,
            data_dir: data.unwrap_or_else(data::default_data_dir),
            questions_per_role: questions_per_role.max(1),
            batch: batch.max(1),
            max_new_tokens: max_new_tokens.max(1),
            seed,
            json,
        }),
        Command::Agreement {
            data,
            verdicts,
            learned,
        } => agreement::report(
            &data.unwrap_or_else(data::default_data_dir),
            verdicts.as_deref(),
            learned.as_deref(),
        ),
        Command::Repetition {
            model,
            axis,
            data,
            echo_penalties,
            seeds,
            max_new_tokens,
            json,
        } => repetition::run(&repetition::RepetitionOptions {
            model,
            axis,
            data_dir: data.unwrap_or_else(data::default_data_dir),
            echo_penalties,
            seeds,
            max_new_tokens: max_new_tokens.max(1),
            json,
        }),
        Command::AnswersToLabel {
            work,
            id_prefix,
            out,
            data,
        } => label_export::run(
            &data.unwrap_or_else(data::default_data_dir),
            &work,
            &id_prefix,
            &out,
        ),
        Command::JudgeFeatures {
            model,
            out,
            layers,
            batch,
        } => judge_features::run(
            &model,
            &data::default_data_dir(),
            &out,
            &layers,
            batch.max(1),
        ),
        Command::Styles {
            model,
            axis,
            data,
            prompts_per_role,
            batch,
            max_new_tokens,
            json,
        } => styles::run(&styles::StylesOptions {
            model,
            axis,
            data_dir: data.unwrap_or_else(data::default_data_dir),
            prompts_per_role: prompts_per_role.max(1),
            batch: batch.max(1),
            max_new_tokens: max_new_tokens.max(1),
            json,
        }),
        Command::Sweep {
            model,
            axis,
            data,
            part,
            grid,
            widths,
            floors,
            settings,
            capability_items,
            persona_limit,
            batch,
            max_new_tokens,
            capability_tokens,
            study_tokens,
            capability_study_tokens,
            work,
            json,
            doc,
            write_axis,
        } => {
            let stem = axis
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("axis")
                .to_owned();
            sweep::command::run(&sweep::command::SweepOptions {
                model,
                work: work
                    .unwrap_or_else(|| PathBuf::from(format!("target/axis-lab/sweep-{stem}"))),
                axis,
                data_dir: data.unwrap_or_else(data::default_data_dir),
                part,
                grid,
                widths,
                floors,
                settings,
                capability_items,
                persona_limit,
                batch: batch.max(1),
                budget: sweep::TokenBudget {
                    persona: max_new_tokens.max(1),
                    capability: capability_tokens.max(1),
                    persona_study: study_tokens,
                    capability_study: capability_study_tokens,
                },
                json,
                doc,
                write_axis,
            })
        }
    };
    if let Err(e) = result {
        eprintln!("axis-lab: {e:#}");
        std::process::exit(1);
    }
}
