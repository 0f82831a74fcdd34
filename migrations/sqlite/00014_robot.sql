-- +goose Up
INSERT INTO users (username, email, password_hash, nickname, signature, activated_at, created_at, updated_at)
VALUES ('robot', 'robot@lechat.invalid', '!', '乐聊机器人 LeChat Bot', '有问题就问我 · Ask me anything',
        strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'),
        strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'));

-- +goose Down
DELETE FROM users WHERE username = 'robot';
