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

    /// Tokens that end an answer.
    pub fn stop_tokens(&self) -> Vec<u32> {
        self.tokenizer.stop_ids()
    }

    /// Turns a stream of generated ids into text, emitting only complete characters.
    pub fn stream_decoder(&self) -> StreamDecoder<'_> {
        self.tokenizer.stream_decoder()
    }
}
