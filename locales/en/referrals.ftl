# Referrals, providers and service categories
error-consent_missing = The client has not agreed to share information for referrals in this category. Record her consent first, or a supervisor may override with a written reason.
error-invalid_transition = { $allowed_count ->
    [0] This referral is finished ({ $from }); its state cannot change any more.
   *[other] A referral that is { $from } cannot move to { $to }. Allowed next states: { $allowed }.
}
error-client_closed = The case is closed. Reopen it before making a referral.
field-referrals-unknown_category = No such service category (or it is no longer used).
field-referrals-invalid_category_code = Use 2–40 lowercase letters, digits or underscores, starting with a letter.
field-referrals-before_opened_on = The date cannot be before the case was opened.
field-referrals-before_previous_event = The date cannot be before the referral's previous step.
field-referrals-unknown_provider = No such service provider.
field-referrals-inactive_provider = This service provider is no longer active.
field-referrals-provider_category_mismatch = This provider does not offer services of this category.
field-referrals-unknown_need = No such need recorded for this client.
field-referrals-need_category_mismatch = This need belongs to another service category.
field-referrals-reason_too_short = Give a reason of at least 10 characters.
field-referrals-share_detail_needs_consent = The detail can be printed on the slip only with the client's sharing consent.
field-referrals-unknown_status = Not a referral state: use accepted, declined, cancelled, in_service, completed or dropped_out.
referral-status-referred = Referred
referral-status-accepted = Accepted
referral-status-declined = Declined
referral-status-cancelled = Cancelled
referral-status-in_service = In service
referral-status-completed = Completed
referral-status-dropped_out = Dropped out
