package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"lechat/model"
	"lechat/service"
)

func (s *Server) groupRoutes(r gin.IRoutes) {
	r.POST("/groups", s.handle(s.createGroup))
	r.GET("/groups", s.handle(s.listGroups))
	r.GET("/groups/:id", s.handle(s.group))
	r.PATCH("/groups/:id", s.handle(s.updateGroup))
	r.DELETE("/groups/:id", s.handle(s.disbandGroup))
	r.POST("/groups/:id/join", s.handle(s.joinGroup))
	r.POST("/groups/:id/leave", s.handle(s.leaveGroup))
	r.POST("/groups/:id/transfer", s.handle(s.transferGroup))
	r.GET("/groups/:id/members", s.handle(s.groupMembers))
	r.POST("/groups/:id/members", s.handle(s.inviteMembers))
	r.PATCH("/groups/:id/members/:user_id", s.handle(s.setMemberRole))
	r.DELETE("/groups/:id/members/:user_id", s.handle(s.removeMember))
	r.GET("/groups/:id/join-requests", s.handle(s.groupJoinRequests))
	r.POST("/groups/:id/join-requests/:request_id/accept", s.handle(s.acceptJoinRequest))
	r.POST("/groups/:id/join-requests/:request_id/reject", s.handle(s.rejectJoinRequest))
}

func (s *Server) createGroup(c *gin.Context) error {
	var in service.CreateGroupInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	g, err := s.groups.Create(c.Request.Context(), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"group": g})
	return nil
}

// listGroups is GET /groups: the user's groups, or with ?q= a search of all groups.
func (s *Server) listGroups(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	var list service.Page[model.GroupView]
	if q, search := c.GetQuery("q"); search {
		list, err = s.groups.Search(c.Request.Context(), q, page)
	} else {
		list, err = s.groups.Mine(c.Request.Context(), page)
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list)
	return nil
}

func (s *Server) group(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	g, err := s.groups.Get(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"group": g})
	return nil
}

func (s *Server) updateGroup(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var p model.GroupPatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	g, err := s.groups.Update(c.Request.Context(), id, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"group": g})
	return nil
}

func (s *Server) disbandGroup(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.groups.Disband(c.Request.Context(), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// joinGroup answers 200 {group} when the user joined, 202 {request} when the group
// needs approval. The body, {message}, is optional.
func (s *Server) joinGroup(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Message string `json:"message"`
	}
	if err := bindOptionalJSON(c, &in); err != nil {
		return err
	}
	g, req, err := s.groups.Join(c.Request.Context(), id, in.Message)
	if err != nil {
		return err
	}
	if req != nil {
		c.JSON(http.StatusAccepted, gin.H{"request": req})
		return nil
	}
	c.JSON(http.StatusOK, gin.H{"group": g})
	return nil
}

func (s *Server) leaveGroup(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.groups.Leave(c.Request.Context(), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) transferGroup(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		UserID uint64 `json:"user_id"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	g, err := s.groups.Transfer(c.Request.Context(), id, in.UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"group": g})
	return nil
}

func (s *Server) groupMembers(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	list, err := s.groups.Members(c.Request.Context(), id, page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list)
	return nil
}

func (s *Server) inviteMembers(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		UserIDs []uint64 `json:"user_ids"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	added, err := s.groups.Invite(c.Request.Context(), id, in.UserIDs)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": added})
	return nil
}

func (s *Server) setMemberRole(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	var in struct {
		Role string `json:"role"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	m, err := s.groups.SetRole(c.Request.Context(), id, userID, in.Role)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

func (s *Server) removeMember(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if err := s.groups.RemoveMember(c.Request.Context(), id, userID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) groupJoinRequests(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	list, err := s.groups.JoinRequests(c.Request.Context(), id, page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list)
	return nil
}

func (s *Server) acceptJoinRequest(c *gin.Context) error {
	return s.answerJoinRequest(c, s.groups.AcceptJoinRequest)
}

func (s *Server) rejectJoinRequest(c *gin.Context) error {
	return s.answerJoinRequest(c, s.groups.RejectJoinRequest)
}

func (s *Server) answerJoinRequest(c *gin.Context,
	answer func(ctx context.Context, groupID, requestID uint64) (*model.GroupJoinRequestView, error)) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	requestID, err := pathID(c, "request_id")
	if err != nil {
		return err
	}
	req, err := answer(c.Request.Context(), id, requestID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"request": req})
	return nil
}

// bindOptionalJSON is bindJSON for a body that may also be absent or empty.
func bindOptionalJSON(c *gin.Context, dst any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return model.Errorf(model.ErrTooLarge, "the request body is larger than %d bytes", tooLarge.Limit)
		}
		return model.Errorf(model.ErrInvalid, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	return bindJSON(c, dst)
}
