package service_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// Image messages and avatars may only show this server's uploads.
func TestImagesMustBeOwnUploads(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		up := service.NewUploads(db, service.LocalStorage{Dir: t.TempDir()}, service.UploadsConfig{}, servicetest.Logger())
		s.accounts.Images = up
		chat := service.NewChat(db, servicetest.Logger())
		chat.Images = up
		groups := service.NewGroups(db, service.GroupsConfig{}, servicetest.Logger())
		groups.Images = up
		alice, asAlice := s.user()
		bob, _ := s.user()
		servicetest.Befriend(t, db, alice.ID, bob.ID)
		conv, err := chat.OpenPrivate(asAlice, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		img, err := up.SaveImage(asAlice, bytes.NewReader(encodePNG(t, twoTone(40, 30, false))))
		if err != nil {
			t.Fatal(err)
		}
		send := func(id string, content any) error {
			b, _ := json.Marshal(content)
			_, _, err := chat.Send(asAlice, model.NewMessage{ConversationID: conv.ID, ClientMsgID: id, Kind: model.KindImage, Content: b})
			return err
		}
		if err := send("img-ok", img); err != nil {
			t.Fatalf("an own upload: %v", err)
		}
		bad := map[string]model.ImageContent{
			"outside address": {URL: "https://evil.example/x.png", ThumbURL: img.ThumbURL, Width: 40, Height: 30},
			"unknown upload":  {URL: "/uploads/ab/" + string(bytes.Repeat([]byte("ab"), 32)) + ".png", ThumbURL: img.ThumbURL, Width: 40, Height: 30},
			"mixed pair":      {URL: img.URL, ThumbURL: img.URL, Width: 40, Height: 30},
			"wrong size":      {URL: img.URL, ThumbURL: img.ThumbURL, Width: 20000, Height: 20000},
		}
		for name, c := range bad {
			if err := send("img-"+name, c); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if n := count(t, db, "messages", "conversation_id = ?", conv.ID); n != 1 {
			t.Errorf("%d messages stored, want 1", n)
		}
		// Without an image checker, no image messages at all.
		chat.Images = nil
		if err := send("img-nochecker", img); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("no checker: %v", err)
		}

		// Avatars.
		outside := "https://evil.example/me.png"
		if _, err := s.accounts.UpdateProfile(asAlice, model.ProfilePatch{AvatarURL: &outside}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("outside avatar: %v", err)
		}
		if u, err := s.accounts.UpdateProfile(asAlice, model.ProfilePatch{AvatarURL: &img.ThumbURL}); err != nil || u.AvatarURL != img.ThumbURL {
			t.Errorf("own avatar: %+v, %v", u, err)
		}
		empty := ""
		if u, err := s.accounts.UpdateProfile(asAlice, model.ProfilePatch{AvatarURL: &empty}); err != nil || u.AvatarURL != "" {
			t.Errorf("clearing the avatar: %+v, %v", u, err)
		}
		if _, err := groups.Create(asAlice, service.CreateGroupInput{Name: "g", AvatarURL: outside}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("outside group avatar: %v", err)
		}
		g, err := groups.Create(asAlice, service.CreateGroupInput{Name: "g", AvatarURL: img.URL})
		if err != nil {
			t.Fatalf("own group avatar: %v", err)
		}
		if _, err := groups.Update(asAlice, g.ID, model.GroupPatch{AvatarURL: &outside}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("outside group avatar on update: %v", err)
		}
	})
}
