package service

import (
	"context"
	"encoding/json"

	"lechat/model"
)

// Images tells whether images belong to this server's uploads; Uploads
// implements it. Services that take image URLs (image messages, avatars) check
// them with it, so that nobody can point other users' apps at an outside address.
type Images interface {
	// Known checks an image message's content. Returns ErrInvalid.
	Known(ctx context.Context, img model.ImageContent) error
	// KnownURL checks one URL (an avatar) on field. Returns ErrInvalid.
	KnownURL(ctx context.Context, field, url string) error
}

var _ Images = (*Uploads)(nil)

// checkAvatar checks a new avatar URL with images, when there is a checker and
// the URL is not being cleared.
func checkAvatar(ctx context.Context, images Images, url *string) error {
	if images == nil || url == nil || *url == "" {
		return nil
	}
	return images.KnownURL(ctx, "avatar_url", *url)
}

// checkImageMessage checks the content of an image message (already normalized).
func checkImageMessage(ctx context.Context, images Images, content string) error {
	if images == nil {
		return model.FieldErrorf(model.ErrInvalid, "kind", "this server takes no images")
	}
	var img model.ImageContent
	if err := json.Unmarshal([]byte(content), &img); err != nil {
		return model.FieldErrorf(model.ErrInvalid, "content", "the content of an image message is {url, thumb_url, width, height}")
	}
	return images.Known(ctx, img)
}
