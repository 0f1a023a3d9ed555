//! Stage 3's measure: the rule-based judge against the hand labels (`hand_labels*.jsonl`) and
//! the rubric's identity labels (`identity_labels.jsonl`, every split).

use std::path::Path;

use crate::agreement::{Agreement, LabelAgreement};
use crate::data::LabData;

/// The judge's agreement with every set of labels found in the data folder.
pub struct JudgeAgreement {
    /// `hand_labels.jsonl` (the design set).
    pub design: Option<Agreement>,
    /// `hand_labels_heldout.jsonl`.
    pub held_out: Option<Agreement>,
    /// `identity_labels.jsonl`, one entry per split that has labels.
    pub identity: Vec<LabelAgreement>,
}

/// Measures (and prints) the judge's agreement with the labels in `data_dir`.
pub fn agreement(data: &LabData, data_dir: &Path) -> JudgeAgreement {
    let agreement_with = |file: &str| {
        crate::agreement::load_labels(&data_dir.join(file))
            .ok()
            .map(|labels| crate::agreement::agreement(data, &labels))
    };
    let judge_agreement = agreement_with("hand_labels.jsonl");
    let judge_agreement_heldout = agreement_with("hand_labels_heldout.jsonl");
    // The rubric's labels (`data/identity_labels.jsonl`), every split.
    let identity_agreement: Vec<crate::agreement::LabelAgreement> =
        crate::agreement::load_identity_labels(&data_dir.join("identity_labels.jsonl"))
            .map(|labels| {
                crate::agreement::SPLITS
                    .iter()
                    .map(|split| crate::agreement::label_agreement(data, &labels, split))
                    .filter(|a| a.classes.labels > 0)
                    .collect()
            })
            .unwrap_or_else(|e| {
                eprintln!("identity labels not used: {e:#}");
                Vec::new()
            });
    for a in &identity_agreement {
        eprintln!(
            "judge vs identity labels ({}): {} answers, agreement {:.0} %, Cohen's kappa {:.2}",
            a.split,
            a.classes.labels,
            a.classes.agreement * 100.0,
            a.classes.cohen_kappa
        );
    }
    for (set, a) in [
        ("design", &judge_agreement),
        ("held-out", &judge_agreement_heldout),
    ] {
        if let Some(a) = a {
            eprintln!(
                "judge vs hand labels ({set} set): {} answers, agreement {:.0} %, Cohen's kappa {:.2}, confusion {:?}",
                a.labels,
                a.agreement * 100.0,
                a.cohen_kappa,
                a.confusion
            );
        }
    }
    JudgeAgreement {
        design: judge_agreement,
        held_out: judge_agreement_heldout,
        identity: identity_agreement,
    }
}
