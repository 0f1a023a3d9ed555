//! Chat templates: the GGUF's `tokenizer.chat_template` (Jinja) rendered with minijinja the way
//! HF transformers' `apply_chat_template` does, so the prompt the model sees is the one it was
//! trained on. Checked string-equal to HF on fixtures (`tests/chat_template_parity.rs`).
//!
//! What HF sets up, and what this does likewise:
//! - `trim_blocks` and `lstrip_blocks` on;
//! - variables `messages`, `add_generation_prompt`, `tools`/`documents` (none), and the
//!   special tokens `bos_token`, `eos_token`, `unk_token`, `pad_token`;
//! - `raise_exception(msg)` (a [`TemplateError::Raised`]), `strftime_now(fmt)` (see
//!   [`clock`]) and a `tojson` filter with Python's output (see [`tojson`]);
//! - Python string methods (`.strip()`, `.startswith()` …) through minijinja-contrib.
//!
//! A template is data from the model file, so rendering is bounded: minijinja's fuel stops
//! loops that run away, its recursion limit stops runaway macros, the rendered text is capped
//! ([`MAX_OUTPUT_BYTES`]), and the filters and methods that allocate a size given as an
//! argument (`indent(n)`, `batch(n)`, `slice(n)`, `format` widths and precisions) refuse sizes
//! above [`MAX_SIZE_ARG`] (found by fuzzing; see docs/fuzzing.md). Not bounded: memory for
//! intermediate values, which minijinja does not account — a template can still double a string
//! by repeated `~` until the allocation fails (each `'x' * n` is capped at 100 MB by minijinja).
//!
//! Not supported: HF's `{% generation %}` block tag (assistant-mask training templates).
//! Messages keep their field order (`role`, `content`) as in Python, but dict literals written
//! in a template iterate in sorted key order, where Python keeps insertion order.

mod clock;
mod tojson;

use minijinja::value::{Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State, context};
use serde::{Deserialize, Serialize};

use crate::gguf::Gguf;

/// Enough for any real template over a long conversation; stops runaway loops.
const FUEL: u64 = 5_000_000;
/// Templates longer than this are not chat templates.
const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Longest rendered prompt: far beyond any context window (8k tokens are ~32 KB of text), so
/// only a runaway template reaches it.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;
/// Largest size a template may pass to `indent`, `batch`, `slice` or a `format` width or
/// precision. Real templates indent by 2 or 4; `indent(4000000000)` asks for 4 GB, and a
/// precision over 65535 makes Rust's formatter panic inside minijinja.
pub const MAX_SIZE_ARG: i64 = 10_000;
/// Most items a filter may walk through. `[1] * 10**12` is a lazy sequence that costs nothing
/// to make, and fuel counts template instructions, not the work inside a built-in filter:
/// `|sum` over it would run for hours. A real conversation has at most a few thousand messages.
pub const MAX_ITEMS: usize = 100_000;

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// "system", "user" or "assistant".
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

impl ChatMessage {
    /// A message with any role.
    pub fn new(role: &str, content: &str) -> Self {
        ChatMessage {
            role: role.to_owned(),
            content: content.to_owned(),
        }
    }
    /// A system message.
    pub fn system(content: &str) -> Self {
        Self::new("system", content)
    }
    /// A user message.
    pub fn user(content: &str) -> Self {
        Self::new("user", content)
    }
    /// An assistant message.
    pub fn assistant(content: &str) -> Self {
        Self::new("assistant", content)
    }
}

/// Why a chat template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The GGUF has no `tokenizer.chat_template`.
    #[error("the model file has no chat template (tokenizer.chat_template)")]
    Missing,
    /// The template is implausibly large.
    #[error("the chat template is too large ({0} bytes)")]
    TooLarge(usize),
    /// The template does not parse.
    #[error("the chat template is invalid: {0}")]
    Invalid(String),
    /// The template called `raise_exception` (e.g. roles out of order).
    #[error("the chat template refused this conversation: {0}")]
    Raised(String),
    /// The template did more work than any real template does (a loop that does not end).
    #[error("the chat template did too much work and was stopped (does it loop?)")]
    TooMuchWork,
    /// The rendered text passed [`MAX_OUTPUT_BYTES`].
    #[error("the chat template's output is too large (over {0} bytes)")]
    OutputTooLarge(usize),
    /// Any other rendering failure.
    #[error("rendering the chat template failed: {0}")]
    Render(String),
}

/// Marks errors that come from the template's own `raise_exception`.
#[derive(Debug, thiserror::Error)]
#[error("raised by the template")]
struct RaisedByTemplate;

/// A compiled chat template with the special tokens it may refer to.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
    unk_token: String,
    pad_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// The template stored in the GGUF, with its special tokens' texts.
    pub fn from_gguf(gguf: &Gguf) -> Result<ChatTemplate, TemplateError> {
        let source = gguf
            .get_str("tokenizer.chat_template")
            .map_err(|_| TemplateError::Missing)?;
        let tokens = gguf.get_array("tokenizer.ggml.tokens").ok();
        let token = |key: &str| -> String {
            let text = gguf
                .get_u32(key)
                .ok()
                .and_then(|id| tokens?.get(usize::try_from(id).ok()?))
                .and_then(|value| value.as_str());
            text.unwrap_or_default().to_owned()
        };
        let mut template = Self::new(
            source,
            token("tokenizer.ggml.bos_token_id"),
            token("tokenizer.ggml.eos_token_id"),
        )?;
        template.unk_token = token("tokenizer.ggml.unknown_token_id");
        template.pad_token = token("tokenizer.ggml.padding_token_id");
        Ok(template)
    }

    /// Compiles `source` with the given BOS and EOS texts.
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
        env.set_unknown_method_callback(|state, value, method, args| {
            // Python's `str.format` takes widths and precisions from the receiver.
            if method == "format"
                && let Some(spec) = value.as_str()
            {
                check_format_sizes(spec)?;
            }
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
        });
        bound_size_args(&mut env);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message).with_source(RaisedByTemplate))
            },
        );
        env.add_filter("tojson", tojson::tojson);
        if let Some(now) = clock::system_now() {
            add_strftime_now(&mut env, now);
        }
        env.add_template_owned("chat", source.to_owned())
            .map_err(|e| TemplateError::Invalid(e.to_string()))?;
        Ok(ChatTemplate {
            env,
            bos_token,
            eos_token,
            unk_token: String::new(),
            pad_token: String::new(),
        })
    }

    /// Fixes the time `strftime_now` reports (seconds since the Unix epoch, UTC). Needed in
    /// the browser, where `std` has no clock; elsewhere it overrides the system clock
    /// (reproducible prompts).
    pub fn set_now(&mut self, unix_seconds: i64) {
        add_strftime_now(&mut self.env, unix_seconds);
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
        let mut out = BoundedOutput::default();
        let rendered = template.render_captured_to(
            context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                tools => (),
                documents => (),
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
                unk_token => &self.unk_token,
                pad_token => &self.pad_token,
            },
            &mut out,
        );
        if out.exceeded {
            return Err(TemplateError::OutputTooLarge(MAX_OUTPUT_BYTES));
        }
        rendered.map_err(classify)?;
        // minijinja writes whole `str`s, so this is valid UTF-8; lossy conversion only guards.
        Ok(String::from_utf8(out.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

/// The render target: refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct BoundedOutput {
    bytes: Vec<u8>,
    exceeded: bool,
}

impl std::io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > MAX_OUTPUT_BYTES {
            self.exceeded = true;
            return Err(std::io::Error::other("chat template output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn too_large(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{what} is larger than {MAX_SIZE_ARG}"),
    )
}

/// Refuses an integer argument (or keyword argument) above [`MAX_SIZE_ARG`].
fn check_size_args(filter: &str, args: &[Value]) -> Result<(), Error> {
    let too_big = |v: &Value| i64::try_from(v.clone()).is_ok_and(|n| n > MAX_SIZE_ARG);
    for arg in args {
        // Keyword arguments arrive as one map value.
        let kwargs_too_big = arg
            .try_iter()
            .ok()
            .filter(|_| arg.kind() == minijinja::value::ValueKind::Map)
            .is_some_and(|mut keys| keys.any(|k| arg.get_item(&k).is_ok_and(|v| too_big(&v))));
        if too_big(arg) || kwargs_too_big {
            return Err(too_large(&format!("a size given to `{filter}`")));
        }
    }
    Ok(())
}

/// Refuses a sequence, map or string of more than [`MAX_ITEMS`] items (sizes minijinja knows
/// without walking: a repeated sequence reports its length).
fn check_items(filter: &str, value: Option<&Value>) -> Result<(), Error> {
    match value.and_then(Value::len) {
        Some(n) if n > MAX_ITEMS => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("the input of `{filter}` has {n} items, more than {MAX_ITEMS}"),
        )),
        _ => Ok(()),
    }
}

/// Refuses a `%`-style or `{}`-style format string with a width or precision above
/// [`MAX_SIZE_ARG`]: digits after a `%` up to its conversion letter, or inside braces.
fn check_format_sizes(spec: &str) -> Result<(), Error> {
    let mut in_spec = false;
    let mut in_braces = false;
    let mut number: i64 = 0;
    for c in spec.chars() {
        if (in_spec || in_braces)
            && let Some(d) = c.to_digit(10)
        {
            number = number.saturating_mul(10).saturating_add(i64::from(d));
            if number > MAX_SIZE_ARG {
                return Err(too_large("a width or precision in a format string"));
            }
            continue;
        }
        number = 0;
        match c {
            '%' => in_spec = !in_spec,
            '{' => in_braces = true,
            '}' => in_braces = false,
            c if c.is_ascii_alphabetic() => in_spec = false,
            _ => {}
        }
    }
    Ok(())
}

/// Wraps the built-in filters that allocate a size given as an argument so that they refuse
/// sizes above [`MAX_SIZE_ARG`] instead of asking the allocator for gigabytes.
fn bound_size_args(env: &mut Environment<'static>) {
    use minijinja::filters;
    let wrap = |env: &mut Environment<'static>, name: &'static str, builtin: Value| {
        env.add_filter(name, move |state: &State, args: Rest<Value>| {
            check_items(name, args.first())?;
            check_size_args(name, args.get(1..).unwrap_or_default())?;
            builtin.call(state, &args)
        });
    };
    wrap(env, "indent", Value::from_function(filters::indent));
    wrap(env, "batch", Value::from_function(filters::batch));
    wrap(env, "slice", Value::from_function(filters::slice));
    // The filters that walk their whole input refuse inputs longer than MAX_ITEMS.
    let walkers: [(&'static str, Value); 21] = [
        ("sum", Value::from_function(filters::sum)),
        ("min", Value::from_function(filters::min)),
        ("max", Value::from_function(filters::max)),
        ("join", Value::from_function(filters::join)),
        ("list", Value::from_function(filters::list)),
        ("string", Value::from_function(filters::string)),
        ("sort", Value::from_function(filters::sort)),
        ("reverse", Value::from_function(filters::reverse)),
        ("unique", Value::from_function(filters::unique)),
        ("last", Value::from_function(filters::last)),
        ("dictsort", Value::from_function(filters::dictsort)),
        ("items", Value::from_function(filters::items)),
        ("map", Value::from_function(filters::map)),
        ("select", Value::from_function(filters::select)),
        ("reject", Value::from_function(filters::reject)),
        ("selectattr", Value::from_function(filters::selectattr)),
        ("rejectattr", Value::from_function(filters::rejectattr)),
        ("groupby", Value::from_function(filters::groupby)),
        ("chain", Value::from_function(filters::chain)),
        ("zip", Value::from_function(filters::zip)),
        ("pprint", Value::from_function(filters::pprint)),
    ];
    for (name, builtin) in walkers {
        env.add_filter(name, move |state: &State, args: Rest<Value>| {
            for arg in args.iter() {
                check_items(name, Some(arg))?;
            }
            builtin.call(state, &args)
        });
    }
    let format = Value::from_function(filters::format);
    env.add_filter("format", move |state: &State, args: Rest<Value>| {
        if let Some(spec) = args.first().and_then(Value::as_str) {
            check_format_sizes(spec)?;
        }
        format.call(state, &args)
    });
}

/// Registers `strftime_now(format)` reporting `unix_seconds`.
fn add_strftime_now(env: &mut Environment<'static>, unix_seconds: i64) {
    env.add_function("strftime_now", move |format: String| {
        clock::strftime(&format, unix_seconds)
    });
}

/// Sorts a rendering error into what the user should be told.
fn classify(e: Error) -> TemplateError {
    if e.kind() == ErrorKind::OutOfFuel {
        return TemplateError::TooMuchWork;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<RaisedByTemplate>() {
            return TemplateError::Raised(e.detail().unwrap_or_default().to_owned());
        }
        source = err.source();
    }
    TemplateError::Render(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(source: &str) -> ChatTemplate {
        ChatTemplate::new(source, "<s>".into(), "</s>".into()).expect("template")
    }

    #[test]
    fn raise_exception_becomes_a_typed_error() {
        let t = template(
            "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok",
        );
        assert_eq!(
            t.render(&[ChatMessage::user("hi")], false).expect("render"),
            "ok"
        );
        let err = t
            .render(&[ChatMessage::assistant("hi")], false)
            .expect_err("raise");
        assert!(
            matches!(err, TemplateError::Raised(ref m) if m == "first message must be from the user"),
            "{err:?}"
        );
        // Raised from inside a macro, too.
        let t = template("{% macro m() %}{{ raise_exception('no') }}{% endmacro %}{{ m() }}");
        assert!(matches!(t.render(&[], false), Err(TemplateError::Raised(ref m)) if m == "no"));
        // Other invalid operations are not "raised".
        let t = template("{{ 1 + 'a' }}");
        assert!(matches!(
            t.render(&[], false),
            Err(TemplateError::Render(_))
        ));
    }

    #[test]
    fn runaway_templates_stop_with_an_error() {
        let t = template(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        );
        assert!(matches!(
            t.render(&[], false),
            Err(TemplateError::TooMuchWork)
        ));
        let t = template("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
        assert!(t.render(&[], false).is_err());
    }

    #[test]
    fn filters_refuse_sequences_too_long_to_walk() {
        let started = std::time::Instant::now();
        for source in [
            "{{ ([1] * 10**12) | sum }}",
            "{{ ([1] * 10**12) | max }}",
            "{{ ([1] * 10**12) | join(',') }}",
            "{{ ([1] * 10**12) | list | length }}",
            "{{ ([1] * 10**12) | map('string') | first }}",
            "{{ (([1] * 10**12) | batch(2)) | first }}",
            "{{ ([1] * 10**12) | tojson }}",
            // Each level is short enough; together they would be 10^10 items of JSON.
            "{{ ([[1] * 100000] * 100000) | tojson }}",
        ] {
            let err = template(source).render(&[], false).expect_err(source);
            assert!(matches!(err, TemplateError::Render(_)), "{source}: {err:?}");
        }
        // Real use is untouched.
        let t =
            template("{{ messages | map(attribute='content') | join('/') }}|{{ [3, 1] | max }}");
        assert_eq!(
            t.render(&[ChatMessage::user("a"), ChatMessage::user("b")], false)
                .expect("render"),
            "a/b|3"
        );
        assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    }

    #[test]
    fn python_string_methods_and_trimming_behave_like_hf() {
        let t = template("{% for m in messages %}\n  {{ m['content'].strip() }}|\n{% endfor %}");
        assert_eq!(
            t.render(&[ChatMessage::user("  a "), ChatMessage::user("b")], false)
                .expect("render"),
            "  a|\n  b|\n"
        );
    }

    #[test]
    fn special_tokens_tools_and_generation_prompt_are_in_scope() {
        let t = template(
            "{{ bos_token }}{% if tools is none and documents is none %}T{% endif %}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}",
        );
        assert_eq!(
            t.render(&[ChatMessage::user("hi")], true).expect("render"),
            "<s>Tuser:hi</s>assistant:"
        );
    }

    #[test]
    fn tojson_and_strftime_now_work_like_hf() {
        let mut t = template(
            "{{ messages[0] | tojson }} {% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}{% endif %}",
        );
        t.set_now(1_721_952_000);
        assert_eq!(
            t.render(&[ChatMessage::user("<b>")], false)
                .expect("render"),
            r#"{"role": "user", "content": "<b>"} 26 Jul 2024"#
        );
    }

    #[test]
    fn a_broken_template_is_reported() {
        assert!(matches!(
            ChatTemplate::new("{% for %}", String::new(), String::new()),
            Err(TemplateError::Invalid(_))
        ));
        assert!(matches!(
            ChatTemplate::new(
                &"x".repeat(MAX_TEMPLATE_BYTES + 1),
                String::new(),
                String::new()
            ),
            Err(TemplateError::TooLarge(_))
        ));
    }
}
