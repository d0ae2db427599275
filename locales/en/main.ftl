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
