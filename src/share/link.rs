//! A shared conversation in the page address: `#share=` + one codec letter + the payload.
//! `z` = base64url (no padding) of the raw-DEFLATE-compressed JSON (what the page writes);
//! `j` = base64url of the JSON itself (handy for tools and hand-made links).

use super::format::{SharedConversation, from_json};

/// The address fragment's key: `#share=<codec><payload>`.
pub const FRAGMENT_KEY: &str = "share=";
/// Links longer than this may be cut by chat apps, mail clients or link shorteners.
pub const LONG_LINK: usize = 8_000;
/// The bound on a link's *unpacked* text, so a small compressed link cannot unpack into
/// megabytes (a file may be larger: `format::MAX_JSON_BYTES`).
const MAX_LINK_JSON_BYTES: usize = 1 << 20;

impl SharedConversation {
    /// The fragment after `#`: `share=z<base64url(deflate(json))>`.
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
        format!("{FRAGMENT_KEY}z{}", base64url_encode(&packed))
    }
}

/// The payload of a `#share=` address fragment (`hash` with or without its leading `#`), or
/// `None` when the address carries no share.
pub fn fragment_payload(hash: &str) -> Option<&str> {
    hash.strip_prefix('#')
        .unwrap_or(hash)
        .strip_prefix(FRAGMENT_KEY)
}

/// Decodes a `#share=` payload (codec letter + base64url). The error completes "The share link
/// could not be opened: …".
pub fn from_fragment(payload: &str) -> Result<SharedConversation, String> {
    let payload = payload.trim();
    // base64 makes 4 characters of 3 bytes; an uncompressed link is bounded like its text.
    if payload.len() > MAX_LINK_JSON_BYTES / 3 * 4 + 8 {
        return Err("it is too long".to_owned());
    }
    let mut chars = payload.chars();
    let codec = chars.next().ok_or("it is empty")?;
    let bytes = base64url_decode(chars.as_str())
        .map_err(|e| format!("it is damaged or was cut off ({e})"))?;
    let json = match codec {
        'z' => miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_LINK_JSON_BYTES)
            .map_err(|e| match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => format!(
                    "it unpacks to more than {} MB, more than a shared conversation holds",
                    MAX_LINK_JSON_BYTES >> 20
                ),
                _ => "it is damaged or was cut off (the data does not unpack)".to_owned(),
            })?,
        'j' => bytes,
        other => {
            return Err(format!(
                "it uses an encoding this page does not know ({other:?}); it may come from a newer version of the page"
            ));
        }
    };
    let text = String::from_utf8(json)
        .map_err(|_| "it is damaged or was cut off (not UTF-8 text)".to_owned())?;
    from_json(&text)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 base64url, without padding.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for s in &sextets[..chunk.len() + 1] {
            out.push(ALPHABET[*s as usize] as char);
        }
    }
    out
}

/// Decodes base64url with or without padding; also accepts the standard alphabet's `+` and `/`.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return Err(format!("unexpected character at position {i}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if text.len() % 4 == 1 {
        return Err("its length is impossible for base64".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::fixtures::{conversation, shared};

    #[test]
    fn the_link_round_trips_and_is_compressed() {
        let s = shared(&conversation());
        let fragment = s.to_fragment();
        let hash = format!("#{fragment}");
        let payload = fragment_payload(&hash).expect("payload");
        assert!(payload.starts_with('z'));
        assert!(
            payload
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(from_fragment(payload).expect("decode"), s);
        // The plain codec reads too.
        let plain = format!("j{}", base64url_encode(s.to_json_pretty().as_bytes()));
        assert_eq!(from_fragment(&plain).expect("plain"), s);
        // A long, repetitive conversation packs well below its JSON size.
        let mut long = conversation();
        for _ in 0..6 {
            long.turns.extend(long.turns.clone());
        }
        let s = shared(&long);
        let json = serde_json::to_string(&s).expect("json");
        let link = s.to_fragment();
        assert!(
            link.len() * 4 < json.len(),
            "{} vs {}",
            link.len(),
            json.len()
        );
        assert_eq!(fragment_payload("#other=1"), None);
        assert_eq!(fragment_payload(""), None);
    }

    #[test]
    fn a_small_link_cannot_unpack_into_megabytes() {
        // A small link that unpacks into megabytes (a "zip bomb") is refused while unpacking.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; 3 << 20], 10);
        let payload = format!("z{}", base64url_encode(&bomb));
        assert!(payload.len() < 20_000, "{} characters", payload.len());
        let e = from_fragment(&payload).expect_err("bomb");
        assert!(e.contains("unpacks to more than 1 MB"), "{e}");
    }

    #[test]
    fn damaged_links_are_errors_not_panics() {
        let good = shared(&conversation()).to_fragment();
        let payload = fragment_payload(&good).expect("payload");
        for bad in [
            "",
            "z",
            "z!!!",
            "zAAAA",
            "q0000",
            "j",
            "jAA",
            "jA",
            &payload[..payload.len() / 2],
            &payload[..payload.len() - 3],
        ] {
            let e = from_fragment(bad).expect_err(bad);
            assert!(!e.is_empty());
        }
        assert!(
            from_fragment("x123")
                .expect_err("codec")
                .contains("newer version")
        );
        assert!(
            from_fragment("z%%%")
                .expect_err("chars")
                .contains("damaged")
        );
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, enc) in cases {
            assert_eq!(base64url_encode(raw), enc);
            assert_eq!(base64url_decode(enc).expect("decode"), raw);
        }
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("-_8=").expect("padded"), [0xfb, 0xff]);
        assert_eq!(base64url_decode("+/8").expect("std alphabet"), [0xfb, 0xff]);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url_encode(&all)).expect("all"), all);
        assert!(base64url_decode("Z").is_err());
        assert!(base64url_decode("Zm9v.").is_err());
    }
}
