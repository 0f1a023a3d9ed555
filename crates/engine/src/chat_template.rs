//! Chat templates: the GGUF's `tokenizer.chat_template` (Jinja) rendered with minijinja the way
//! HF transformers' `apply_chat_template` does (trim_blocks, lstrip_blocks, `raise_exception`,
//! Python string methods). Checked string-equal to HF on fixtures
//! (`tests/chat_template_parity.rs`).

use minijinja::{Environment, Error, ErrorKind, context};
use serde::{Deserialize, Serialize};

use crate::gguf::Gguf;

/// Enough for any real template over a long conversation; stops runaway loops.
const FUEL: u64 = 5_000_000;
/// Templates longer than this are not chat templates.
const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// "system", "user" or "assistant".
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        ChatMessage {
            role: role.to_owned(),
            content: content.to_owned(),
        }
    }
    pub fn system(content: &str) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: &str) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: &str) -> Self {
        Self::new("assistant", content)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the model file has no chat template (tokenizer.chat_template)")]
    Missing,
    #[error("the chat template is too large ({0} bytes)")]
    TooLarge(usize),
    #[error("the chat template is invalid: {0}")]
    Invalid(String),
    #[error("the chat template refused this conversation: {0}")]
    Raised(String),
    #[error("rendering the chat template failed: {0}")]
    Render(String),
}

pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    pub fn from_gguf(gguf: &Gguf) -> Result<ChatTemplate, TemplateError> {
        let source = gguf
            .get_str("tokenizer.chat_template")
            .map_err(|_| TemplateError::Missing)?;
        let token = |key: &str| -> String {
            let id = gguf.get_u32(key).ok();
            let tokens = gguf.get_array("tokenizer.ggml.tokens").ok();
            match (id, tokens) {
                (Some(id), Some(tokens)) => match tokens.get(id as usize) {
                    Some(crate::gguf::MetadataValue::String(s)) => s.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            }
        };
        Self::new(
            source,
            token("tokenizer.ggml.bos_token_id"),
            token("tokenizer.ggml.eos_token_id"),
        )
    }

    pub fn new(
        source: &str,
        bos_token: String,
        eos_token: String,
    ) -> Result<ChatTemplate, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLarge(source.len()));
        }
        let mut env = Environment::new();
        // HF renders with trim_blocks and lstrip_blocks on.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_fuel(Some(FUEL));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned("chat", source.to_owned())
            .map_err(|e| TemplateError::Invalid(e.to_string()))?;
        Ok(ChatTemplate {
            env,
            bos_token,
            eos_token,
        })
    }

    /// Renders `messages`; with `add_generation_prompt` the text ends with the assistant's
    /// header, ready for the model to answer.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| TemplateError::Invalid(e.to_string()))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidOperation => {
                    TemplateError::Raised(e.detail().unwrap_or("").to_owned())
                }
                _ => TemplateError::Render(e.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_exception_becomes_a_typed_error() {
        let t = ChatTemplate::new(
            "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok",
            String::new(),
            String::new(),
        )
        .expect("template");
        assert_eq!(
            t.render(&[ChatMessage::user("hi")], false).expect("render"),
            "ok"
        );
        let err = t
            .render(&[ChatMessage::assistant("hi")], false)
            .expect_err("raise");
        assert!(
            matches!(err, TemplateError::Raised(ref m) if m.contains("first message")),
            "{err}"
        );
    }

    #[test]
    fn runaway_templates_stop_with_an_error() {
        let t = ChatTemplate::new(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            String::new(),
            String::new(),
        )
        .expect("template");
        assert!(t.render(&[], false).is_err());
    }

    #[test]
    fn python_string_methods_and_trimming_behave_like_hf() {
        let t = ChatTemplate::new(
            "{% for m in messages %}\n  {{ m['content'].strip() }}|\n{% endfor %}",
            String::new(),
            String::new(),
        )
        .expect("template");
        assert_eq!(
            t.render(&[ChatMessage::user("  a "), ChatMessage::user("b")], false)
                .expect("render"),
            "  a|\n  b|\n"
        );
    }

    #[test]
    fn a_broken_template_is_reported() {
        assert!(matches!(
            ChatTemplate::new("{% for %}", String::new(), String::new()),
            Err(TemplateError::Invalid(_))
        ));
    }
}
