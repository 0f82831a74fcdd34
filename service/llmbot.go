package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// LLMConfig says how to reach an OpenAI-compatible chat-completions endpoint.
type LLMConfig struct {
	URL     string // e.g. http://127.0.0.1:11434/v1/chat/completions
	Model   string
	Key     string // sent as a bearer token when set
	Timeout time.Duration
	System  string // the system prompt
}

// LLMBot answers with a language model behind an OpenAI-compatible
// chat-completions endpoint, sending the recent conversation as context.
type LLMBot struct {
	cfg    LLMConfig
	client *http.Client
}

var _ Bot = (*LLMBot)(nil)

// DefaultRobotPrompt is the system prompt of the LLM robot.
const DefaultRobotPrompt = "You are the LeChat (乐聊) robot, a friendly assistant inside a chat app. " +
	"Answer briefly, in the language the user wrote in (Chinese or English)."

// NewLLMBot returns a client of cfg's endpoint.
func NewLLMBot(cfg LLMConfig) *LLMBot {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.System == "" {
		cfg.System = DefaultRobotPrompt
	}
	return &LLMBot{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}
}

type chatCompletionRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatCompletionResponse struct {
	Choices []struct {
		Message chatMessage `json:"message"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Reply implements Bot: one POST with the system prompt and history, bounded by
// the configured timeout.
func (b *LLMBot) Reply(ctx context.Context, history []BotTurn) (string, error) {
	req := chatCompletionRequest{Model: b.cfg.Model, Messages: []chatMessage{{Role: "system", Content: b.cfg.System}}}
	for _, t := range history {
		role := "assistant"
		if t.FromUser {
			role = "user"
		}
		req.Messages = append(req.Messages, chatMessage{Role: role, Content: t.Text})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if b.cfg.Key != "" {
		hr.Header.Set("Authorization", "Bearer "+b.cfg.Key)
	}
	res, err := b.client.Do(hr)
	if err != nil {
		return "", fmt.Errorf("llm call: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("llm read: %w", err)
	}
	var out chatCompletionResponse
	decodeErr := json.Unmarshal(raw, &out)
	if res.StatusCode != http.StatusOK {
		if decodeErr == nil && out.Error != nil {
			return "", fmt.Errorf("llm answered %d: %s", res.StatusCode, out.Error.Message)
		}
		return "", fmt.Errorf("llm answered %d", res.StatusCode)
	}
	if decodeErr != nil {
		return "", fmt.Errorf("llm answer is not JSON: %w", decodeErr)
	}
	if len(out.Choices) == 0 || strings.TrimSpace(out.Choices[0].Message.Content) == "" {
		return "", errors.New("llm answered with no text")
	}
	return strings.TrimSpace(out.Choices[0].Message.Content), nil
}
