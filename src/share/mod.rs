//! Sharing a conversation without a server: a versioned JSON document (downloaded as a file, or
//! carried in the page address after `#share=`), and its validation on the way back in. The
//! format is documented in `docs/demo.md` ("Sharing").
//!
//! - [`format`]: the document (`Shared*` types), its conversion to and from the page's
//!   [`Conversation`](crate::conversation::Conversation), and reading it back with bounds checks.
//! - [`link`]: the document in an address fragment (`#share=` + codec letter + payload),
//!   compressed and base64url-encoded.
//! - [`browser`] (wasm only): download, file input, address bar, clipboard.
//!
//! The first two are pure logic, unit-tested natively.

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(test)]
mod fixtures;
pub mod format;
pub mod link;

// The page's call sites (wasm only) use these; natively only the tests use the modules.
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub use format::{SharedAxis, SharedConversation, SharedModel, Snapshot, from_json};
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub use link::{LONG_LINK, fragment_payload, from_fragment};
