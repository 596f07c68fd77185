-- The WeChat Pay simulator's own record: what WeChat would know about the
-- merchants that talk to it. Never Tandem's tables; nothing here is read by Tandem.
CREATE SCHEMA wxsim;

CREATE SEQUENCE wxsim.id_seq;

CREATE TABLE wxsim.transactions (
    transaction_id text PRIMARY KEY,
    mchid          text        NOT NULL,
    appid          text        NOT NULL,
    out_trade_no   text        NOT NULL,
    trade_type     text        NOT NULL CHECK (trade_type IN ('JSAPI', 'NATIVE')),
    prepay_id      text        NOT NULL UNIQUE,
    code_url       text        NOT NULL DEFAULT '',
    description    text        NOT NULL,
    attach         text        NOT NULL DEFAULT '',
    notify_url     text        NOT NULL,
    total          bigint      NOT NULL CHECK (total > 0),
    currency       text        NOT NULL DEFAULT 'CNY',
    payer_openid   text        NOT NULL DEFAULT '',
    time_expire    timestamptz,
    -- the request body's digest, so a repeated prepay can be told from a conflicting one
    request_digest text        NOT NULL,
    trade_state    text        NOT NULL CHECK (trade_state IN ('NOTPAY', 'SUCCESS', 'REFUND', 'CLOSED')),
    bank_type      text        NOT NULL DEFAULT '',
    success_time   timestamptz,
    fee            bigint      NOT NULL DEFAULT 0 CHECK (fee >= 0),
    fee_rate       text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    closed_at      timestamptz,
    UNIQUE (mchid, out_trade_no)
);
CREATE INDEX transactions_success_time ON wxsim.transactions (mchid, success_time);

CREATE TABLE wxsim.refunds (
    refund_id             text PRIMARY KEY,
    mchid                 text        NOT NULL,
    out_refund_no         text        NOT NULL,
    transaction_id        text        NOT NULL REFERENCES wxsim.transactions,
    amount                bigint      NOT NULL CHECK (amount > 0),
    -- the share of the payment fee WeChat gives back with this refund
    returned_fee          bigint      NOT NULL CHECK (returned_fee >= 0),
    reason                text        NOT NULL DEFAULT '',
    notify_url            text        NOT NULL DEFAULT '',
    status                text        NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
    channel               text        NOT NULL DEFAULT 'ORIGINAL',
    user_received_account text        NOT NULL DEFAULT '支付用户零钱',
    funds_account         text        NOT NULL DEFAULT 'AVAILABLE',
    source                text        NOT NULL CHECK (source IN ('API', 'WECHAT')),
    created_at            timestamptz NOT NULL,
    success_time          timestamptz,
    UNIQUE (mchid, out_refund_no)
);
CREATE INDEX refunds_created_at ON wxsim.refunds (mchid, created_at);
CREATE INDEX refunds_transaction ON wxsim.refunds (transaction_id);

-- Money movements per account, the source of the fund-flow bills.
CREATE TABLE wxsim.fund_flows (
    flow_no    text PRIMARY KEY,
    mchid      text        NOT NULL,
    account    text        NOT NULL CHECK (account IN ('BASIC', 'OPERATION', 'FEES')),
    booked_at  timestamptz NOT NULL,
    biz_no     text        NOT NULL,
    biz_name   text        NOT NULL,
    biz_type   text        NOT NULL,
    direction  text        NOT NULL CHECK (direction IN ('收入', '支出')),
    amount     bigint      NOT NULL CHECK (amount >= 0),
    applicant  text        NOT NULL,
    remark     text        NOT NULL DEFAULT '',
    voucher_no text        NOT NULL
);
CREATE INDEX fund_flows_booked ON wxsim.fund_flows (mchid, account, booked_at);

CREATE TABLE wxsim.notifications (
    id           uuid PRIMARY KEY,
    mchid        text        NOT NULL,
    url          text        NOT NULL,
    event_type   text        NOT NULL,
    out_trade_no text        NOT NULL,
    out_refund_no text       NOT NULL DEFAULT '',
    body         text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'DROPPED', 'GAVE_UP')),
    faults       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);

CREATE TABLE wxsim.notify_attempts (
    notification_id uuid        NOT NULL REFERENCES wxsim.notifications,
    attempt         int         NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('DELIVERY', 'DUPLICATE', 'SIGNTEST')),
    at              timestamptz NOT NULL,
    status_code     int         NOT NULL,
    error           text        NOT NULL DEFAULT '',
    PRIMARY KEY (notification_id, attempt)
);
