package service

import (
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"lechat/model"
)

// Helpers over the social graph shared by the friends and groups services. Each
// takes the transaction it runs in.

// lockUsers takes the row locks of the given users, in id order so that two
// transactions locking the same users cannot deadlock. It serializes changes to
// the friendship of a pair. (SQLite transactions already hold the write lock.)
//
// Call it before any other read of the transaction: connections run READ
// COMMITTED (see withReadCommitted), but a database left at REPEATABLE READ
// takes its snapshot at the first plain read, and a snapshot taken before the
// lock would not see what the previous holder committed.
func lockUsers(tx *gorm.DB, ids ...uint64) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	var got []uint64
	err := tx.Model(&model.User{}).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("id IN ?", slices.Compact(ids)).Order("id").Pluck("id", &got).Error
	if err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	return nil
}

// notFriends returns those of ids that are not friends of userID.
func notFriends(tx *gorm.DB, userID uint64, ids []uint64) ([]uint64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var friends []uint64
	if err := tx.Model(&model.Friendship{}).Where("user_id = ? AND friend_id IN ?", userID, ids).
		Pluck("friend_id", &friends).Error; err != nil {
		return nil, fmt.Errorf("find friends: %w", err)
	}
	var missing []uint64
	for _, id := range ids {
		if !slices.Contains(friends, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// publicUsers loads the public views of the given users, keyed by id. Unknown ids
// are absent from the map.
func publicUsers(tx *gorm.DB, ids ...uint64) (map[uint64]model.PublicUser, error) {
	out := make(map[uint64]model.PublicUser, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var users []model.User
	if err := tx.Where("id IN ?", ids).Find(&users).Error; err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	for i := range users {
		out[users[i].ID] = users[i].Public()
	}
	return out, nil
}

// activeUser loads an activated user. Returns ErrNotFound.
func activeUser(tx *gorm.DB, id uint64) (*model.User, error) {
	var u model.User
	err := tx.Where("id = ? AND activated_at IS NOT NULL", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, model.Errorf(model.ErrNotFound, "no such user")
	} else if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	return &u, nil
}
