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

/// The bytes a vocabulary entry stands for; `None` if it contains a character outside the
/// table (then the entry is not byte-level, e.g. a control token's literal text).
pub fn chars_to_bytes(text: &str, table: &[char; 256]) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| table.iter().position(|&t| t == c).map(|b| b as u8))
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
        assert_eq!(
            chars_to_bytes("ĠhelloĊ", &table),
            Some(b" hello\n".to_vec())
        );
    }
}
