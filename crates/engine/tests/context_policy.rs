//! The context policy on the real model's tokenizer and template: the oldest turns are dropped
//! until the prompt and the answer fit; a single message that cannot fit is a clear error.

mod common;

use engine::chat::{ChatError, ChatMessage, ChatModel};
use engine::model::WeightMode;

fn model() -> ChatModel {
    ChatModel::load(
        common::shared_model_bytes(),
        WeightMode::Quantized,
        &engine::device::cpu(),
    )
    .expect("model loads")
}

fn long_text(turn: usize, words: usize) -> String {
    (0..words)
        .map(|w| format!("word{}", (turn * 7 + w) % 97))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_conversation_that_fits_is_untouched() {
    let chat = model();
    let messages = vec![
        ChatMessage::system("You are a pirate."),
        ChatMessage::user("Hello!"),
    ];
    let fitted = chat.fit_prompt(&messages, 256).expect("fits");
    assert_eq!(fitted.dropped_messages, 0);
    assert_eq!(
        fitted.tokens,
        chat.prompt_tokens(&messages).expect("tokens")
    );
}

#[test]
fn the_oldest_turns_are_dropped_until_the_prompt_fits() {
    let chat = model();
    let context = chat.model().config().context_length;
    let mut messages = vec![ChatMessage::system("You are a patient tutor.")];
    for turn in 0..30 {
        messages.push(ChatMessage::user(&long_text(turn, 150)));
        messages.push(ChatMessage::assistant(&long_text(turn + 100, 150)));
    }
    messages.push(ChatMessage::user("And the last question: what is 2 + 2?"));
    let full = chat.prompt_tokens(&messages).expect("tokens").len();
    assert!(
        full > context,
        "the test conversation must overflow ({full} tokens)"
    );

    let max_new = 512;
    let fitted = chat
        .fit_prompt(&messages, max_new)
        .expect("fits after dropping");
    assert!(fitted.tokens.len() + max_new <= context);
    assert!(fitted.dropped_messages > 0 && fitted.dropped_messages.is_multiple_of(2));
    // Whole turns were dropped from the front; system and the latest message are kept, and
    // nothing more was dropped than needed.
    let kept: Vec<ChatMessage> = std::iter::once(messages[0].clone())
        .chain(messages[1 + fitted.dropped_messages..].iter().cloned())
        .collect();
    assert_eq!(fitted.tokens, chat.prompt_tokens(&kept).expect("tokens"));
    let one_more: Vec<ChatMessage> = std::iter::once(messages[0].clone())
        .chain(messages[fitted.dropped_messages - 1..].iter().cloned())
        .collect();
    assert!(chat.prompt_tokens(&one_more).expect("tokens").len() + max_new > context);
}

#[test]
fn a_single_message_longer_than_the_context_is_a_clear_error() {
    let chat = model();
    let messages = vec![ChatMessage::user(&long_text(0, 9_000))];
    match chat.fit_prompt(&messages, 64) {
        Err(ChatError::MessageTooLong {
            prompt, context, ..
        }) => {
            assert!(prompt > context);
            let text = chat
                .fit_prompt(&messages, 64)
                .expect_err("still too long")
                .to_string();
            assert!(text.contains("shorten the message"), "{text}");
        }
        other => panic!("expected MessageTooLong, got {other:?}"),
    }
}
