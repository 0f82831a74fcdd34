-- +goose Up
CREATE TABLE uploads (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id      BIGINT UNSIGNED NOT NULL,
    name         VARCHAR(80)     NOT NULL,
    thumb_name   VARCHAR(80)     NOT NULL,
    content_type VARCHAR(32)     NOT NULL,
    width        INT             NOT NULL,
    height       INT             NOT NULL,
    bytes        BIGINT          NOT NULL,
    created_at   DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY idx_uploads_name (name),
    KEY idx_uploads_thumb_name (thumb_name),
    KEY idx_uploads_user (user_id, created_at),
    CONSTRAINT fk_uploads_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE uploads;
