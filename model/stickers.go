package model

import "slices"

// Stickers is the built-in sticker set: an emoji message "sticker:<name>" names
// one of these, and the web app ships a picture for each (frontend/public/stickers).
var Stickers = []string{
	"wave", "thumbs-up", "laugh", "cry", "love", "angry", "surprised", "sleepy",
	"party", "ok", "thanks", "sorry", "cool", "thinking", "facepalm", "hug",
}

// IsSticker reports whether name is in the built-in set.
func IsSticker(name string) bool { return slices.Contains(Stickers, name) }
