//! Field sealing: AES-256-GCM with a fresh random 96-bit nonce.
//!
//! Format: `version ‖ nonce ‖ ciphertext ‖ tag`. The associated data names the table,
//! column, row id and client id, so a sealed value moved to another row or field fails
//! to open instead of showing someone else's data.

use ring::aead;
use zeroize::{Zeroize, Zeroizing};

use super::{CryptoError, random_bytes};

pub const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Where a sealed value belongs; bound into its associated data.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
    pub client_id: &'a str,
}

impl FieldRef<'_> {
    fn associated_data(&self) -> Vec<u8> {
        format!("{}|{}|{}|{}", self.table, self.column, self.row_id, self.client_id).into_bytes()
    }
}

/// One client's data key. Deleting its wrapped copy makes the client's sealed fields
/// unreadable for good (crypto-shredding).
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes::<32>()?))
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Integrity)?;
        Ok(Self(arr))
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key schedule lives only for the one seal or open that needs it: ring cannot
    /// wipe it, so it is never stored beside the (wiped-on-drop) key bytes.
    fn aead_key(&self) -> Result<aead::LessSafeKey, CryptoError> {
        aead::UnboundKey::new(&aead::AES_256_GCM, &self.0)
            .map(aead::LessSafeKey::new)
            .map_err(|_| CryptoError::Integrity)
    }

    pub fn seal(&self, field: FieldRef<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.aead_key()?, &field.associated_data(), plaintext)
    }

    pub fn open(&self, field: FieldRef<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&self.aead_key()?, &field.associated_data(), sealed)
    }

    pub fn seal_str(&self, field: FieldRef<'_>, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.seal(field, plaintext.as_bytes())
    }

    pub fn open_string(&self, field: FieldRef<'_>, sealed: &[u8]) -> Result<String, CryptoError> {
        let plain = self.open(field, sealed)?;
        String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Integrity)
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

pub(crate) fn seal_with(key: &aead::LessSafeKey, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce_bytes = random_bytes::<NONCE_LEN>()?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + aead::AES_256_GCM.tag_len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce_bytes);
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce_bytes),
        aead::Aad::from(ad),
        &mut body,
    )
    .map_err(|_| CryptoError::Integrity)?;
    out.extend_from_slice(&body);
    body.zeroize();
    Ok(out)
}

pub(crate) fn open_with(key: &aead::LessSafeKey, ad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&version, rest) = sealed.split_first().ok_or(CryptoError::Integrity)?;
    if version != SEAL_VERSION {
        return Err(CryptoError::UnknownVersion);
    }
    if rest.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
        return Err(CryptoError::Integrity);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Integrity)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key
        .open_in_place(nonce, aead::Aad::from(ad), &mut buf)
        .map_err(|_| CryptoError::Integrity)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(column: &'a str, row: &'a str) -> FieldRef<'a> {
        FieldRef {
            table: "clients",
            column,
            row_id: row,
            client_id: row,
        }
    }

    #[test]
    fn round_trip_and_fresh_nonce() {
        let key = DataKey::generate().unwrap();
        let a = key.seal_str(at("full_name", "c1"), "Trần Thị Mai").unwrap();
        let b = key.seal_str(at("full_name", "c1"), "Trần Thị Mai").unwrap();
        assert_ne!(a, b, "each seal uses a fresh nonce");
        assert_eq!(key.open_string(at("full_name", "c1"), &a).unwrap(), "Trần Thị Mai");
    }

    #[test]
    fn moved_or_altered_values_do_not_open() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal_str(at("full_name", "c1"), "Trần Thị Mai").unwrap();
        assert!(matches!(
            key.open(at("phone", "c1"), &sealed),
            Err(CryptoError::Integrity)
        ));
        assert!(matches!(
            key.open(at("full_name", "c2"), &sealed),
            Err(CryptoError::Integrity)
        ));
        for i in 1..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(matches!(
                key.open(at("full_name", "c1"), &bad),
                Err(CryptoError::Integrity)
            ));
        }
        let mut bad_version = sealed.clone();
        bad_version[0] = 9;
        assert!(matches!(
            key.open(at("full_name", "c1"), &bad_version),
            Err(CryptoError::UnknownVersion)
        ));
        assert!(key.open(at("full_name", "c1"), &sealed[..5]).is_err());
    }
}
