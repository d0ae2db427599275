//! The MAC keys of a hash chain (the audit trail, the erasure ledger) across key
//! rotations: entries up to a rotation verify with the key retired by it, later ones with
//! the current key.

use ring::hmac;

#[derive(Clone)]
pub struct ChainKeys {
    current: hmac::Key,
    /// `(until_seq, key)`, ordered by `until_seq`.
    retired: Vec<(i64, hmac::Key)>,
}

impl std::fmt::Debug for ChainKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKeys")
            .field("retired", &self.retired.len())
            .finish_non_exhaustive()
    }
}

impl ChainKeys {
    pub fn new(current: hmac::Key) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }

    /// Adds a key that signed the entries up to `until_seq`.
    pub fn retired(mut self, until_seq: i64, key: hmac::Key) -> Self {
        self.retired.push((until_seq, key));
        self.retired.sort_by_key(|(until, _)| *until);
        self
    }

    /// The key that signs (or signed) entry `seq`.
    pub fn for_seq(&self, seq: i64) -> &hmac::Key {
        self.retired
            .iter()
            .find(|(until, _)| seq <= *until)
            .map_or(&self.current, |(_, key)| key)
    }

    /// The key new entries are signed with.
    pub fn current(&self) -> &hmac::Key {
        &self.current
    }

    /// Every key, retired ones first (a checkpoint is checked against each).
    pub fn all(&self) -> impl Iterator<Item = &hmac::Key> {
        self.retired
            .iter()
            .map(|(_, k)| k)
            .chain(std::iter::once(&self.current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_checked_with_the_key_of_its_time() {
        let old = hmac::Key::new(hmac::HMAC_SHA256, b"old");
        let older = hmac::Key::new(hmac::HMAC_SHA256, b"older");
        let new = hmac::Key::new(hmac::HMAC_SHA256, b"new");
        let keys = ChainKeys::new(new).retired(10, old).retired(4, older);
        let tag = |key: &hmac::Key| hmac::sign(key, b"m").as_ref().to_vec();
        assert_eq!(tag(keys.for_seq(1)), tag(&hmac::Key::new(hmac::HMAC_SHA256, b"older")));
        assert_eq!(tag(keys.for_seq(4)), tag(&hmac::Key::new(hmac::HMAC_SHA256, b"older")));
        assert_eq!(tag(keys.for_seq(5)), tag(&hmac::Key::new(hmac::HMAC_SHA256, b"old")));
        assert_eq!(tag(keys.for_seq(11)), tag(&hmac::Key::new(hmac::HMAC_SHA256, b"new")));
        assert_eq!(keys.all().count(), 3);
    }
}
