-- The referral programme's settings, set by growth operators in the console: what
-- each side earns and how long the invitee's first paid order must go unrefunded.
-- No row: the process's configuration (Config.ReferrerPoints, InviteePoints,
-- ReferralWindow) applies.
CREATE TABLE marketing.referral_settings (
    id               smallint PRIMARY KEY CHECK (id = 1),
    referrer_points  bigint NOT NULL CHECK (referrer_points BETWEEN 0 AND 100000),
    invitee_points   bigint NOT NULL CHECK (invitee_points BETWEEN 0 AND 100000),
    window_days      integer NOT NULL CHECK (window_days BETWEEN 1 AND 90),
    updated_by       uuid NOT NULL,
    updated_at       timestamptz NOT NULL
);
