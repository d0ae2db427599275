# Second factor, accounts, first-admin setup, break-glass
error-mfa_already_enrolled = Two-step verification is already set up for this account. An administrator can reset it.
error-mfa_not_started = Start setting up two-step verification first.
field-invalid_totp = The code is wrong or has expired. Enter the code your app shows now.
error-username_taken = This username is taken.
field-invalid_role = No such role.
error-own_account = You cannot do this to your own account.
error-last_admin = This is the last active administrator account.
error-setup_token_invalid = This setup link is not valid: it has expired, has been used, or an administrator already exists.
field-reason_too_short = Give a reason of at least 20 characters.

# Login hardening and one's own password
error-busy = The server is busy checking other logins. Try again in a moment.
error-password_change_required = Choose your own password first: the one you were given works only once.
field-wrong_password = This is not your current password.
field-password_unchanged = Choose a password different from the current one.
password-change-title = Change my password
password-change-required = The password you were given works only to choose your own. Choose it now; nothing else opens until you do.
password-current = Current password
password-new = New password
password-change-submit = Change password
password-change-link = Change my password
