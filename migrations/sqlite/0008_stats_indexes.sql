-- Statistics: covering indexes for computing a release in one pass per table (see
-- src/stats/compute.rs and bench/stats.rs): the moves of referrals in a period by status
-- and date (with the client and the referral, so no table row is read), each referral's
-- category, and the support contacts of a period.
CREATE INDEX referral_events_stats ON referral_events (to_status, on_date, client_id, referral_id);
CREATE INDEX referrals_stats ON referrals (id, category);
CREATE INDEX support_logs_stats ON support_logs (on_date, client_id);
