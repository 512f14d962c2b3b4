//! 统一社会信用代码 (Unified Social Credit Code), GB 32100-2015.
//!
//! The code identifies a firm in asset keys (SPEC.md §6), so it is validated
//! here, where both the ledger and the service can reach it.

/// The 31 symbols of the code, in value order (no I, O, S, V, Z).
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// `3^(i-1) mod 31` for positions 1..=17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: u8) -> Option<u32> {
    CHARSET
        .iter()
        .position(|&x| x == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("a USCC has 18 characters, this one has {0}")]
    Length(usize),
    #[error(
        "character {position} ({found:?}) is not allowed in a USCC (allowed: 0-9 and A-H J-N P Q R T U W X Y)"
    )]
    Character { position: usize, found: char },
    #[error(
        "the check character is {found:?} but the code's first 17 characters require {expected:?}"
    )]
    CheckCharacter { expected: char, found: char },
}

/// Normalises (trims ASCII whitespace, upper-cases) and validates a USCC,
/// including its check character. Returns the normalised code.
pub fn normalise(input: &str) -> Result<String, UsccError> {
    let code = input.trim_ascii().to_ascii_uppercase();
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return Err(UsccError::Length(code.chars().count()));
    }
    let mut sum = 0u32;
    for (i, &c) in bytes.iter().enumerate() {
        let v = value(c).ok_or(UsccError::Character {
            position: i + 1,
            found: char::from(c),
        })?;
        if let Some(w) = WEIGHTS.get(i) {
            sum += v * w;
        }
    }
    let expected_value = (31 - sum % 31) % 31;
    let expected = CHARSET
        .get(usize::try_from(expected_value).unwrap_or(0))
        .copied()
        .unwrap_or(b'0');
    let found = bytes.get(17).copied().unwrap_or(b'0');
    if expected != found {
        return Err(UsccError::CheckCharacter {
            expected: char::from(expected),
            found: char::from(found),
        });
    }
    Ok(code)
}

/// Appends the check character to the first 17 characters of a code, for
/// generators and tests that need valid codes. None if a character is invalid.
pub fn complete(first17: &str) -> Option<String> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (&c, w) in bytes.iter().zip(WEIGHTS) {
        sum += value(c)? * w;
    }
    let check = CHARSET.get(usize::try_from((31 - sum % 31) % 31).ok()?)?;
    Some(format!("{first17}{}", char::from(*check)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        // BRIEF.md §2.2: the standard's worked examples and counter-example.
        assert_eq!(
            normalise(" 914403001922038216 ").as_deref(),
            Ok("914403001922038216")
        );
        assert!(normalise("91350100m000100y43").is_ok());
        assert!(matches!(
            normalise("91350100M000100Y4Z"),
            Err(UsccError::Character { position: 18, .. })
        ));
        assert!(matches!(
            normalise("914403001922038217"),
            Err(UsccError::CheckCharacter { expected: '6', .. })
        ));
        assert_eq!(normalise("9144"), Err(UsccError::Length(4)));
    }
}
