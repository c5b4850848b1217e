-- 002_ops: the Pegasus schema of spec 002, as written, plus what guildhall needs to serve it.

CREATE TABLE guilds (
    id VARCHAR(20) PRIMARY KEY,
    joined_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    settings JSONB DEFAULT '{}',
    premium_until TIMESTAMP
);

CREATE TABLE users (
    id VARCHAR(20) PRIMARY KEY,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    global_name VARCHAR(32),
    avatar_url TEXT
);

CREATE TABLE guild_members (
    guild_id VARCHAR(20),
    user_id VARCHAR(20),
    xp INTEGER DEFAULT 0,
    level INTEGER DEFAULT 0,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE giveaways (
    id UUID PRIMARY KEY,
    guild_id VARCHAR(20) NOT NULL,
    channel_id VARCHAR(20) NOT NULL,
    message_id VARCHAR(20),
    host_id VARCHAR(20) NOT NULL,
    title VARCHAR(256) NOT NULL,
    description TEXT,
    prize VARCHAR(256) NOT NULL,
    winner_count INTEGER DEFAULT 1,
    ends_at TIMESTAMP NOT NULL,
    requirements JSONB,
    bonus_entries JSONB,
    embed_config JSONB,
    status VARCHAR(20) DEFAULT 'active',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE tickets (
    id SERIAL PRIMARY KEY,
    guild_id VARCHAR(20) NOT NULL,
    channel_id VARCHAR(20) NOT NULL,
    user_id VARCHAR(20) NOT NULL,
    status VARCHAR(20) DEFAULT 'open',
    category VARCHAR(50),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    closed_at TIMESTAMP
);

-- Timestamps without a zone are UTC: every guildhall connection runs with TimeZone=UTC.
CREATE TABLE audit_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id VARCHAR(20) NOT NULL,
    guild_id VARCHAR(20) NOT NULL,
    action VARCHAR(100) NOT NULL,
    category VARCHAR(50) NOT NULL,
    details JSONB DEFAULT '{}',
    ip VARCHAR(45),
    user_agent TEXT,
    created_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE user_permissions (
    guild_id VARCHAR(20) NOT NULL,
    user_id VARCHAR(20) NOT NULL,
    permission VARCHAR(100) NOT NULL,
    allowed BOOLEAN DEFAULT true,
    granted_by VARCHAR(20),
    granted_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (guild_id, user_id, permission)
);

-- /api/logs pages newest first, optionally by action, category or guild.
CREATE INDEX audit_logs_created ON audit_logs (created_at DESC, id DESC);
CREATE INDEX audit_logs_action ON audit_logs (action, created_at DESC);
CREATE INDEX audit_logs_guild ON audit_logs (guild_id, created_at DESC);
CREATE INDEX tickets_open ON tickets (status) WHERE status = 'open';

-- One call records an audit entry and queues its webhook (spec 002 "Audit Webhook") in the
-- caller's transaction, so neither can exist without the other.
CREATE FUNCTION audit_record(p_user_id text, p_guild_id text, p_action text, p_category text,
                             p_details jsonb, p_ip text, p_user_agent text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := gen_random_uuid();
    v_at timestamp := clock_timestamp() AT TIME ZONE 'UTC';
BEGIN
    INSERT INTO audit_logs (id, user_id, guild_id, action, category, details, ip, user_agent, created_at)
    VALUES (v_id, left(p_user_id, 20), left(p_guild_id, 20), p_action, p_category,
            coalesce(p_details, '{}'), p_ip, p_user_agent, v_at);
    INSERT INTO outbox (kind, payload) VALUES ('audit_webhook', jsonb_build_object('embeds', jsonb_build_array(
        jsonb_build_object(
            'title', 'Audit Log Entry',
            'color', 39423,
            'fields', jsonb_build_array(
                jsonb_build_object('name', 'Action', 'value', p_action, 'inline', true),
                jsonb_build_object('name', 'User ID', 'value', left(p_user_id, 20), 'inline', true),
                jsonb_build_object('name', 'Category', 'value', p_category, 'inline', true),
                jsonb_build_object('name', 'Guild ID', 'value', left(p_guild_id, 20), 'inline', true)),
            'timestamp', to_char(v_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))));
    RETURN v_id;
END $$;
