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
