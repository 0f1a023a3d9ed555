//! GPT-2's reversible byte ↔ printable-character table, used by byte-level BPE vocabularies:
//! printable bytes map to themselves, the other 68 to U+0100 and up, in byte order.

/// `table[b]` is the character that stands for byte `b`.
pub fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable =
            (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
        let code = if printable {
            u32::from(b)
        } else {
            let c = next;
            next += 1;
            c
        };
        table[b as usize] = char::from_u32(code).unwrap_or('\u{FFFD}');
    }
    table
}

/// The inverse of [`byte_to_char_table`], indexed by character code (every character in the
/// table is below U+0144), so decoding a 50k-entry vocabulary is one lookup per character.
pub fn char_to_byte_table(table: &[char; 256]) -> Vec<Option<u8>> {
    let mut inverse = vec![None; 0x144];
    for (byte, c) in (0..=255u8).zip(table) {
        if let Some(slot) = inverse.get_mut(*c as usize) {
            *slot = Some(byte);
        }
    }
    inverse
}

/// The bytes a vocabulary entry stands for; `None` if it contains a character outside the
/// table (then the entry is not byte-level, e.g. a control token's literal text).
pub fn chars_to_bytes(text: &str, inverse: &[Option<u8>]) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| inverse.get(c as usize).copied().flatten())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_a_bijection_with_gpt2_conventions() {
        let table = byte_to_char_table();
        assert_eq!(table[b'A' as usize], 'A');
        assert_eq!(table[b' ' as usize], 'Ġ');
        assert_eq!(table[b'\n' as usize], 'Ċ');
        let mut seen: Vec<char> = table.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
        let inverse = char_to_byte_table(&table);
        assert_eq!(
            chars_to_bytes("ĠhelloĊ", &inverse),
            Some(b" hello\n".to_vec())
        );
        assert_eq!(
            chars_to_bytes("<|im_start|>", &inverse),
            Some(b"<|im_start|>".to_vec())
        );
        assert_eq!(chars_to_bytes("東", &inverse), None);
        assert!((0..=255u8).all(|b| inverse[table[b as usize] as usize] == Some(b)));
    }
}
