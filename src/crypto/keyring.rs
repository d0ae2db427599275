//! The master key and everything derived from it.
//!
//! `master.age` holds 32 random bytes encrypted with age to the server's X25519 identity
//! and to every offline recovery recipient. Subkeys are derived with HKDF-SHA256, one per
//! purpose, so a leak of one (say the blind-index key) reveals nothing about the others.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ring::{aead, hkdf, hmac};
use secrecy::ExposeSecret;
use zeroize::{Zeroize, Zeroizing};

use super::blind::BlindIndexer;
use super::seal::{DataKey, open_with, seal_with};
use super::{CryptoError, Sensitive, random_bytes};

/// Where the two key files live.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    pub identity: PathBuf,
    pub master: PathBuf,
}

impl KeyFiles {
    /// The recovery recipients `master.age` is encrypted to, one public key a line.
    pub fn recipients(&self) -> PathBuf {
        self.master.with_file_name("recipients.txt")
    }

    /// The recovery recipients on record: `recipients.txt`, or `fallback` (the settings)
    /// for an installation created before that file existed.
    pub fn recovery_recipients(&self, fallback: &[String]) -> Result<Vec<String>, CryptoError> {
        match std::fs::read_to_string(self.recipients()) {
            Ok(text) => Ok(text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fallback.to_vec()),
            Err(e) => Err(CryptoError::Io {
                path: self.recipients().display().to_string(),
                source: e,
            }),
        }
    }

    /// The server identity's public key.
    pub fn server_recipient(&self) -> Result<age::x25519::Recipient, CryptoError> {
        Ok(read_identity(&self.identity)?.to_public())
    }
}

/// Parses recovery recipients, naming a bad one by its position.
pub fn parse_recipients(recovery: &[String]) -> Result<Vec<age::x25519::Recipient>, CryptoError> {
    recovery
        .iter()
        .enumerate()
        .map(|(index, r)| age::x25519::Recipient::from_str(r.trim()).map_err(|_| CryptoError::BadRecipient { index }))
        .collect()
}

/// The bytes of a `master.age` for `master`, encrypted to the server and `recovery`.
pub(crate) fn encrypt_master(
    master: &MasterKey,
    server: &age::x25519::Recipient,
    recovery: &[age::x25519::Recipient],
) -> Result<Vec<u8>, CryptoError> {
    let mut all: Vec<&dyn age::Recipient> = vec![server];
    all.extend(recovery.iter().map(|r| r as &dyn age::Recipient));
    age_encrypt(&all, master.expose())
}

/// Writes `recipients.txt` (public keys; replaced whole).
pub(crate) fn write_recipients(files: &KeyFiles, recovery: &[String]) -> Result<(), CryptoError> {
    let mut text = String::from("# recovery recipients of master.age (public keys)\n");
    for r in recovery {
        text.push_str(r.trim());
        text.push('\n');
    }
    replace_file(&files.recipients(), text.as_bytes())
}

/// Replaces a file atomically: written beside it, synced, renamed over it, the folder synced.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), CryptoError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CryptoError::Io {
        path: path.display().to_string(),
        source,
    };
    let staged = path.with_extension("staged");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staged)
        .map_err(io)?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(io)?;
    std::fs::rename(&staged, path).map_err(io)?;
    sync_parent(path).map_err(io)
}

pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Sets up the key files of a restored installation from a backup's master key: the
/// server identity is created if there is none, and `master.age` is written encrypted to
/// it and to `recovery`. Refuses to overwrite a `master.age`.
pub fn install_master(files: &KeyFiles, master: &MasterKey, recovery: &[String]) -> Result<(), CryptoError> {
    let parsed = parse_recipients(recovery)?;
    if files.master.exists() {
        return Err(CryptoError::AlreadyInitialised {
            path: files.master.display().to_string(),
        });
    }
    if !files.identity.exists() {
        let identity = age::x25519::Identity::generate();
        write_private(&files.identity, identity_file_text(&identity).as_bytes())?;
    }
    let encrypted = encrypt_master(master, &files.server_recipient()?, &parsed)?;
    write_private(&files.master, &encrypted)?;
    write_recipients(files, recovery)
}

/// The 32-byte master key; wiped on drop, never printed.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// What `init` produced, for the operator's information.
#[derive(Debug)]
pub struct InitOutcome {
    /// The server identity's public key (`age1...`).
    pub server_recipient: String,
    pub recovery_recipients: usize,
}

/// Creates the server identity (mode 0600) and `master.age` encrypted to the server and to
/// each recovery recipient. Refuses to overwrite either file.
pub fn init_keys(files: &KeyFiles, recovery: &[String]) -> Result<InitOutcome, CryptoError> {
    let recovery = parse_recipients(recovery)?;
    for path in [&files.identity, &files.master] {
        if path.exists() {
            return Err(CryptoError::AlreadyInitialised {
                path: path.display().to_string(),
            });
        }
    }
    let identity = age::x25519::Identity::generate();
    let server = identity.to_public();
    let mut master = Zeroizing::new(random_bytes::<32>()?);

    let mut all: Vec<&dyn age::Recipient> = vec![&server];
    all.extend(recovery.iter().map(|r| r as &dyn age::Recipient));
    let encrypted = age_encrypt(&all, master.as_ref())?;
    master.zeroize();

    write_private(&files.identity, identity_file_text(&identity).as_bytes())?;
    write_private(&files.master, &encrypted)?;
    let listed: Vec<String> = recovery.iter().map(ToString::to_string).collect();
    write_recipients(files, &listed)?;
    Ok(InitOutcome {
        server_recipient: server.to_string(),
        recovery_recipients: recovery.len(),
    })
}

/// The text of a server identity file (wiped when dropped).
pub(crate) fn identity_file_text(identity: &age::x25519::Identity) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "# hoanhap server identity; keep secret, keep a backup offline\n# public key: {}\n{}\n",
        identity.to_public(),
        identity.to_string().expose_secret()
    ))
}

/// Encrypts `plaintext` to every recipient with age.
pub(crate) fn age_encrypt(recipients: &[&dyn age::Recipient], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().copied()).map_err(|e| CryptoError::Age(e.to_string()))?;
    let mut out = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| CryptoError::Age(e.to_string()))?;
    writer
        .write_all(plaintext)
        .and_then(|_| writer.finish().map(|_| ()))
        .map_err(|e| CryptoError::Age(e.to_string()))?;
    Ok(out)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CryptoError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CryptoError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(io)
}

/// Creates a folder (and its parents) readable only by the service's user.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Reads an age identity file (as written by `init` or `age-keygen`).
pub(crate) fn read_identity(path: &Path) -> Result<age::x25519::Identity, CryptoError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CryptoError::IdentityMissing {
                path: path.display().to_string(),
                hint: "restore it from the offline backup, or run `hoanhap init` for a new installation",
            }
        } else {
            CryptoError::Io {
                path: path.display().to_string(),
                source: e,
            }
        }
    })?);
    parse_identity(&text).ok_or_else(|| CryptoError::IdentityInvalid {
        path: path.display().to_string(),
    })
}

fn parse_identity(text: &str) -> Option<age::x25519::Identity> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .and_then(|l| age::x25519::Identity::from_str(l).ok())
}

/// Decrypts `master.age` with any identity that can open it: the server's, or a recovery
/// identity held offline by the data-protection officer.
pub fn recover_master_key(master_path: &Path, identity_text: &str) -> Result<MasterKey, CryptoError> {
    let identity = parse_identity(identity_text).ok_or_else(|| CryptoError::IdentityInvalid {
        path: "(recovery identity)".into(),
    })?;
    decrypt_master(master_path, &identity)
}

fn decrypt_master(path: &Path, identity: &age::x25519::Identity) -> Result<MasterKey, CryptoError> {
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CryptoError::MasterKeyMissing {
                path: path.display().to_string(),
            }
        } else {
            CryptoError::Io {
                path: path.display().to_string(),
                source: e,
            }
        }
    })?;
    decrypt_master_bytes(&bytes, &path.display().to_string(), identity)
}

/// Decrypts the bytes of a `master.age` (`shown` names it in errors).
pub(crate) fn decrypt_master_bytes(
    bytes: &[u8],
    shown: &str,
    identity: &age::x25519::Identity,
) -> Result<MasterKey, CryptoError> {
    let shown = || shown.to_owned();
    let decryptor = age::Decryptor::new(bytes).map_err(|e| CryptoError::MasterKeyDamaged {
        path: shown(),
        reason: e.to_string(),
    })?;
    let mut reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptoError::MasterKeyUndecryptable {
                path: shown(),
                reason: "it was not encrypted to this identity".into(),
            },
            other => CryptoError::MasterKeyDamaged {
                path: shown(),
                reason: other.to_string(),
            },
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|e| CryptoError::MasterKeyDamaged {
            path: shown(),
            reason: e.to_string(),
        })?;
    let key: [u8; 32] = plain.as_slice().try_into().map_err(|_| CryptoError::MasterKeyDamaged {
        path: shown(),
        reason: "it does not hold a 32-byte key".into(),
    })?;
    Ok(MasterKey(key))
}

/// Everything the server derives from the master key. The master key itself is dropped
/// (and wiped) once the subkeys exist.
///
/// Key material in memory: `ring` key schedules (`aead::LessSafeKey`, `hmac::Key`) cannot
/// be wiped by us, since ring offers no zeroising drop for them. So the AES keys (data-key
/// wrapping, account secrets) and the checkpoint key are kept here only as raw subkey bytes
/// in `Zeroizing`, wiped when the keyring drops (key rotation, the end of a command), and
/// each operation builds its key schedule on the stack and drops it when it returns. The
/// audit-chain HMAC key is held by the audit writer task for the life of the process and
/// the blind-index key serves every intake and edit, so their ring keys are built once and
/// are freed, not wiped, when the process ends. The HKDF `Prk` of the master key is a ring
/// value too: it lives only inside [`Keyring::from_master`].
pub struct Keyring {
    key_id: String,
    check_value: Vec<u8>,
    wrap: Zeroizing<[u8; 32]>,
    blind: BlindIndexer,
    audit: hmac::Key,
    audit_raw: Zeroizing<[u8; 32]>,
    erasure: hmac::Key,
    erasure_raw: Zeroizing<[u8; 32]>,
    accounts: Zeroizing<[u8; 32]>,
    checkpoint: Zeroizing<[u8; 32]>,
}

/// The chains whose MAC keys outlive a key rotation (sealed in `retired_chain_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    Audit,
    Erasure,
    Checkpoint,
}

impl Chain {
    pub const ALL: [Chain; 3] = [Chain::Audit, Chain::Erasure, Chain::Checkpoint];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::Erasure => "erasure",
            Self::Checkpoint => "checkpoint",
        }
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// An AES-256-GCM key schedule for one operation (see [`Keyring`] on why it is not kept).
fn aes_key(bytes: &[u8; 32]) -> Result<aead::LessSafeKey, CryptoError> {
    aead::UnboundKey::new(&aead::AES_256_GCM, bytes)
        .map(aead::LessSafeKey::new)
        .map_err(|_| CryptoError::Random)
}

fn derive(prk: &hkdf::Prk, purpose: &'static str) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let info = [purpose.as_bytes()];
    let okm = prk.expand(&info, Len(32)).map_err(|_| CryptoError::Random)?;
    let mut out = Zeroizing::new([0u8; 32]);
    okm.fill(out.as_mut()).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

impl Keyring {
    /// Loads the identity, decrypts `master.age`, derives the subkeys.
    pub fn load(files: &KeyFiles) -> Result<Self, CryptoError> {
        let identity = read_identity(&files.identity)?;
        let master = decrypt_master(&files.master, &identity)?;
        Self::from_master(&master)
    }

    /// A new random master key (for a rotation).
    pub fn generate_master() -> Result<MasterKey, CryptoError> {
        Ok(MasterKey(random_bytes::<32>()?))
    }

    pub fn from_master(master: &MasterKey) -> Result<Self, CryptoError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"hoanhap/v1").extract(master.expose());
        let check_key = derive(&prk, "key-check")?;
        let check = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, check_key.as_ref()),
            b"hoanhap master key check",
        );
        let check_value = check.as_ref().to_vec();
        let key_id = hex::encode(&check_value[..8]);
        let wrap = derive(&prk, "data-key-wrapping")?;
        let blind = BlindIndexer::new(derive(&prk, "blind-index")?.as_ref());
        let audit_raw = derive(&prk, "audit-mac")?;
        let audit = hmac::Key::new(hmac::HMAC_SHA256, audit_raw.as_ref());
        let erasure_raw = derive(&prk, "erasure-ledger")?;
        let erasure = hmac::Key::new(hmac::HMAC_SHA256, erasure_raw.as_ref());
        let accounts = derive(&prk, "account-secrets")?;
        let checkpoint = derive(&prk, "audit-checkpoint")?;
        Ok(Self {
            key_id,
            check_value,
            wrap,
            blind,
            audit,
            audit_raw,
            erasure,
            erasure_raw,
            accounts,
            checkpoint,
        })
    }

    /// Short public identifier of the master key, stored beside each wrapped data key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// A value the database keeps so a start-up with another installation's key is refused.
    pub fn check_value(&self) -> &[u8] {
        &self.check_value
    }

    pub fn blind_index(&self) -> &BlindIndexer {
        &self.blind
    }

    pub fn audit_key(&self) -> &hmac::Key {
        &self.audit
    }

    /// The MAC key of the erasure ledger.
    pub fn erasure_key(&self) -> &hmac::Key {
        &self.erasure
    }

    /// Seals this key's MAC key of `chain` under `successor`'s wrapping key, so entries
    /// written before a rotation keep verifying after it. Bound to the chain and key id.
    pub fn seal_chain_key_for(&self, chain: Chain, successor: &Keyring) -> Result<Vec<u8>, CryptoError> {
        let raw = match chain {
            Chain::Audit => &self.audit_raw,
            Chain::Erasure => &self.erasure_raw,
            Chain::Checkpoint => &self.checkpoint,
        };
        successor.seal_retired(chain, &self.key_id, raw.as_ref())
    }

    /// Re-seals a retired chain key (opened with this keyring) under `successor`.
    pub fn reseal_retired_for(
        &self,
        chain: Chain,
        key_id: &str,
        sealed: &[u8],
        successor: &Keyring,
    ) -> Result<Vec<u8>, CryptoError> {
        let raw = open_with(&aes_key(&self.wrap)?, &retired_ad(chain, key_id), sealed)?;
        successor.seal_retired(chain, key_id, &raw)
    }

    /// Opens a retired chain key sealed under this keyring.
    pub fn open_retired(&self, chain: Chain, key_id: &str, sealed: &[u8]) -> Result<hmac::Key, CryptoError> {
        let raw = open_with(&aes_key(&self.wrap)?, &retired_ad(chain, key_id), sealed)?;
        Ok(hmac::Key::new(hmac::HMAC_SHA256, &raw))
    }

    fn seal_retired(&self, chain: Chain, key_id: &str, raw: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&aes_key(&self.wrap)?, &retired_ad(chain, key_id), raw)
    }

    /// Wraps a client's data key; the client id and key id are bound as associated data.
    pub fn wrap(&self, key: &DataKey, client_id: &str) -> Result<Vec<u8>, CryptoError> {
        seal_with(&aes_key(&self.wrap)?, &self.wrap_ad(client_id), key.expose())
    }

    pub fn unwrap(&self, wrapped: &[u8], client_id: &str) -> Result<DataKey, CryptoError> {
        let plain = open_with(&aes_key(&self.wrap)?, &self.wrap_ad(client_id), wrapped)?;
        DataKey::from_slice(&plain)
    }

    /// Seals a staff account's secret (a TOTP seed), bound to the account and the column.
    pub fn seal_account_secret(&self, user_id: &str, column: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(
            &aes_key(&self.accounts)?,
            format!("users|{column}|{user_id}").as_bytes(),
            secret,
        )
    }

    pub fn open_account_secret(
        &self,
        user_id: &str,
        column: &str,
        sealed: &[u8],
    ) -> Result<Sensitive<Vec<u8>>, CryptoError> {
        let mut plain = open_with(
            &aes_key(&self.accounts)?,
            format!("users|{column}|{user_id}").as_bytes(),
            sealed,
        )?;
        Ok(Sensitive::new(std::mem::take(&mut *plain)))
    }

    /// Signs an audit checkpoint. Its own subkey, not the chain's: see
    /// [`crate::audit::checkpoint`] for why.
    pub fn sign_checkpoint(&self, message: &[u8]) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.checkpoint.as_ref());
        hmac::sign(&key, message).as_ref().to_vec()
    }

    /// The checkpoint signing key as a MAC key (for [`ChainKeys`](super::ChainKeys)).
    pub fn checkpoint_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.checkpoint.as_ref())
    }

    /// Whether `signature` is this installation's checkpoint signature of `message`
    /// (compared in constant time).
    pub fn verify_checkpoint(&self, message: &[u8], signature: &[u8]) -> bool {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.checkpoint.as_ref());
        hmac::verify(&key, message, signature).is_ok()
    }

    fn wrap_ad(&self, client_id: &str) -> Vec<u8> {
        format!("client_keys|data_key|{client_id}|{}", self.key_id).into_bytes()
    }
}

fn retired_ad(chain: Chain, key_id: &str) -> Vec<u8> {
    format!("retired_chain_keys|{}|{key_id}", chain.as_str()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> KeyFiles {
        KeyFiles {
            identity: dir.join("keys/identity.txt"),
            master: dir.join("keys/master.age"),
        }
    }

    #[test]
    fn init_then_load_gives_the_same_key_and_private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        init_keys(&f, &[]).unwrap();
        let a = Keyring::load(&f).unwrap();
        let b = Keyring::load(&f).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        let mode = std::fs::metadata(&f.identity).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            init_keys(&f, &[]),
            Err(CryptoError::AlreadyInitialised { .. })
        ));
    }

    #[test]
    fn wrapped_key_is_bound_to_its_client() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        init_keys(&f, &[]).unwrap();
        let ring = Keyring::load(&f).unwrap();
        let key = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&key, "client-a").unwrap();
        assert_eq!(ring.unwrap(&wrapped, "client-a").unwrap().expose(), key.expose());
        assert!(matches!(ring.unwrap(&wrapped, "client-b"), Err(CryptoError::Integrity)));
    }

    #[test]
    fn account_secrets_open_redacted_and_checkpoints_have_their_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        init_keys(&f, &[]).unwrap();
        let ring = Keyring::load(&f).unwrap();
        let sealed = ring.seal_account_secret("u1", "totp", b"0123456789abcdefghij").unwrap();
        let opened = ring.open_account_secret("u1", "totp", &sealed).unwrap();
        assert_eq!(opened.expose().as_slice(), b"0123456789abcdefghij");
        assert_eq!(format!("{opened:?}"), "[redacted]");
        assert!(ring.open_account_secret("u2", "totp", &sealed).is_err());

        let message = b"hoanhap-audit-checkpoint/1\n3\nab";
        let signature = ring.sign_checkpoint(message);
        assert!(ring.verify_checkpoint(message, &signature));
        assert!(!ring.verify_checkpoint(b"hoanhap-audit-checkpoint/1\n4\nab", &signature));
        // Not the chain key: a checkpoint signature is never a valid entry MAC.
        assert_ne!(hmac::sign(ring.audit_key(), message).as_ref(), signature.as_slice());
        let other = tempfile::tempdir().unwrap();
        init_keys(&files(other.path()), &[]).unwrap();
        let other = Keyring::load(&files(other.path())).unwrap();
        assert!(!other.verify_checkpoint(message, &signature));
    }

    #[test]
    fn a_bad_recipient_is_named_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let err = init_keys(&files(dir.path()), &["age1notakey".into()]).unwrap_err();
        assert!(matches!(err, CryptoError::BadRecipient { index: 0 }));
        assert!(!dir.path().join("keys/identity.txt").exists());
    }
}
