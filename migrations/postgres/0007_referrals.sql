-- Referrals: whether the client agreed that the referral's detail is printed on the slip
-- given to the provider; the order of a referral's events (the referral's version after
-- the move, 1 for the referral itself), since several moves may be recorded within one
-- second; and the follow-up list's scan.

ALTER TABLE referrals ADD COLUMN share_detail BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE referral_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX referrals_status_moved ON referrals (status, last_moved_on);
CREATE INDEX providers_category_area ON providers (category, area);
