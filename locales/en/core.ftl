# API error messages
error-unauthenticated = You need to log in.
error-forbidden = You are not allowed to do this.
error-not_found = Not found.
error-conflict = Someone else changed this record. Reload it and make your change again.
error-validation = Some fields are not valid.
error-bad_request = The request is not valid.
error-unsupported_media_type = The body must be JSON.
error-payload_too_large = The body is too large.
error-internal = Something went wrong on the server. The problem has been logged.
error-unavailable = The service is not ready.
error-csrf = The anti-forgery (CSRF) token is missing or wrong.
error-invalid_credentials = Wrong username or password.
error-too_many_attempts = Too many attempts. Try again later.
# Field errors
field-required = Required.
field-too_long = Too long.
field-too_short = Too short.
field-invalid_date = Not a valid date (format YYYY-MM-DD).
field-future_date = The date cannot be in the future.
field-unknown_area = No such area.
field-invalid_phone = Not a valid phone number.
field-invalid = Not a valid value.
field-unknown = This field is not supported.
field-password_too_short = The password must have at least 12 characters.
field-invalid_username = Usernames have 3–64 characters: lowercase letters, digits, dot, underscore, hyphen.
field-username_taken = This username is taken.
error-totp_required = A second-factor code is required.
error-mfa_enrolment_required = You need to set up two-step verification before you continue.

# Audit checkpoints and the full verification (the auditor's page, the API)
field-audit-checkpoint_invalid = This is not a hoanhap audit checkpoint. Paste the whole file.
field-audit-checkpoint_other_key = This checkpoint was signed under another master key.
field-audit-checkpoint_signature = The checkpoint's signature does not match: it was altered or not issued by this installation.
error-audit_chain_broken = The audit chain does not verify; no checkpoint is issued for it.
audit-verify-releases-ok = Every statistics release names an entry of the chain. Releases checked:
audit-verify-releases-bad = These statistics releases name an audit-chain head that the trail no longer holds: entries were removed.
audit-verify-checkpoint-ok = The trail holds the checkpoint
audit-verify-checkpoint-missing = Entries were removed or replaced! The trail no longer holds the checkpoint
audit-checkpoint-title = Checkpoints
audit-checkpoint-help = A checkpoint is a signed record of the newest entry. Keep it off the server (on your own computer or on paper); checking it later shows whether entries were removed since.
audit-checkpoint-button = Download a checkpoint
audit-checkpoint-paste = Checkpoint to check
audit-checkpoint-paste-hint = Paste the whole content of a checkpoint file you kept.
audit-checkpoint-verify-button = Check the checkpoint
