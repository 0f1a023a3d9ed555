//! A chat model: the transformer, its tokenizer and its chat template, loaded from one GGUF.
//! This is what the browser worker and the axis lab hold.

use crate::chat_template::{ChatTemplate, TemplateError};
use crate::device::Device;
use crate::gguf::{Gguf, GgufError};
use crate::model::{LlamaModel, ModelError, WeightMode};
use crate::tokenizer::{ChatTokenizer, StreamDecoder, TokenizerError};

pub use crate::chat_template::ChatMessage;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Even with every earlier turn dropped, the prompt and the answer do not fit.
    #[error(
        "the latest message needs {prompt} tokens and the answer {max_new} more, but the model's context is {context} tokens: shorten the message or lower the answer length"
    )]
    MessageTooLong {
        prompt: usize,
        max_new: usize,
        context: usize,
    },
}

/// A prompt that fits the context, and how many messages were left out to make it fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FittedPrompt {
    pub tokens: Vec<u32>,
    /// Leading non-system messages dropped (the oldest turns).
    pub dropped_messages: usize,
}

pub struct ChatModel {
    model: LlamaModel,
    tokenizer: ChatTokenizer,
    template: ChatTemplate,
}

impl ChatModel {
    /// Parses the GGUF, builds tokenizer and template, and uploads the weights to `device`.
    pub fn load(bytes: &[u8], mode: WeightMode, device: &Device) -> Result<ChatModel, ChatError> {
        let gguf = Gguf::parse(bytes)?;
        // Tokenizer and template first: they are cheap and fail fast on an unsupported file.
        let tokenizer = ChatTokenizer::from_gguf(&gguf)?;
        let template = ChatTemplate::from_gguf(&gguf)?;
        let model = LlamaModel::from_gguf(&gguf, bytes, mode, device)?;
        Ok(ChatModel {
            model,
            tokenizer,
            template,
        })
    }

    pub fn model(&self) -> &LlamaModel {
        &self.model
    }

    pub fn tokenizer(&self) -> &ChatTokenizer {
        &self.tokenizer
    }

    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// The conversation rendered with the chat template (ending in the assistant header) and
    /// tokenized.
    pub fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<Vec<u32>, ChatError> {
        let text = self.template.render(messages, true)?;
        Ok(self.tokenizer.encode(&text)?)
    }

    /// The context policy: if the conversation plus `max_new_tokens` does not fit the model's
    /// context, drop the oldest turns — a user message with the replies that follow it — until
    /// it does. The system message and the latest user message are always kept; if those alone
    /// do not fit, [`ChatError::MessageTooLong`].
    pub fn fit_prompt(
        &self,
        messages: &[ChatMessage],
        max_new_tokens: usize,
    ) -> Result<FittedPrompt, ChatError> {
        let context = self.model.config().context_length;
        let system: Vec<ChatMessage> = messages
            .iter()
            .take_while(|m| m.role == "system")
            .cloned()
            .collect();
        let mut rest: &[ChatMessage] = &messages[system.len()..];
        let mut dropped = 0;
        loop {
            let candidate: Vec<ChatMessage> = system.iter().chain(rest).cloned().collect();
            let tokens = self.prompt_tokens(&candidate)?;
            if tokens.len() + max_new_tokens <= context {
                return Ok(FittedPrompt {
                    tokens,
                    dropped_messages: dropped,
                });
            }
            // The next turn starts at the first user message after the current first one.
            let next_turn = rest
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, m)| m.role == "user")
                .map(|(i, _)| i);
            match next_turn {
                Some(i) => {
                    dropped += i;
                    rest = &rest[i..];
                }
                None => {
                    return Err(ChatError::MessageTooLong {
                        prompt: tokens.len(),
                        max_new: max_new_tokens,
                        context,
                    });
                }
            }
        }
    }

    /// The token ids of each assistant message in `messages` (its text alone, without the
    /// template around it): what the echo penalty keeps a new answer from repeating.
    pub fn earlier_answers(&self, messages: &[ChatMessage]) -> Result<Vec<Vec<u32>>, ChatError> {
        messages
            .iter()
            .filter(|m| m.role == "assistant")
            .map(|m| Ok(self.tokenizer.encode(&m.content)?))
            .collect()
    }

    /// Tokens that end an answer.
    pub fn stop_tokens(&self) -> Vec<u32> {
        self.tokenizer.stop_ids()
    }

    /// Turns a stream of generated ids into text, emitting only complete characters.
    pub fn stream_decoder(&self) -> StreamDecoder<'_> {
        self.tokenizer.stream_decoder()
    }
}
