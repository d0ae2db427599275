//! Blind indexes: truncated HMAC-SHA256 over normalised values, so duplicates can be found
//! without storing or searching plaintext. The key is an HKDF subkey of the master key.

use ring::hmac;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Bytes kept of each HMAC: enough to make accidental collisions negligible in a
/// province-sized register, short enough that an index is not a fingerprint of its own.
const TRUNCATED_LEN: usize = 16;

pub struct BlindIndexer {
    key: hmac::Key,
}

/// Folds case, spacing and Vietnamese diacritics: "Nguyễn Thị  Lan" → "nguyen thi lan".
pub fn normalise_name(name: &str) -> String {
    let folded: String = name
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Keeps the letters and digits of an ID-card number, upper-cased.
pub fn normalise_id_number(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl BlindIndexer {
    pub(crate) fn new(key: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    fn mac(&self, domain: &str, value: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(domain.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        ctx.sign().as_ref()[..TRUNCATED_LEN].to_vec()
    }

    /// Index of name + date of birth (`YYYY-MM-DD`).
    pub fn name_dob(&self, name: &str, date_of_birth: &str) -> Vec<u8> {
        self.mac(
            "name+dob",
            &format!("{}|{}", normalise_name(name), date_of_birth.trim()),
        )
    }

    /// Index of an ID-card number; `None` when nothing of it is left after normalising.
    pub fn id_number(&self, id: &str) -> Option<Vec<u8>> {
        let n = normalise_id_number(id);
        (!n.is_empty()).then(|| self.mac("id-number", &n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_names_fold() {
        assert_eq!(normalise_name("Nguyễn Thị  Lan"), "nguyen thi lan");
        assert_eq!(normalise_name("  ĐẶNG   thị HỒNG "), "dang thi hong");
        let b = BlindIndexer::new(&[7u8; 32]);
        assert_eq!(
            b.name_dob("nguyen thi  lan", "1990-04-01"),
            b.name_dob("Nguyễn Thị Lan", "1990-04-01")
        );
        assert_ne!(
            b.name_dob("Nguyễn Thị Lan", "1990-04-02"),
            b.name_dob("Nguyễn Thị Lan", "1990-04-01")
        );
        assert_eq!(b.id_number("0401-9000 1234"), b.id_number("040190001234"));
        assert_eq!(b.id_number(" - "), None);
    }
}
