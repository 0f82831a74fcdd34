package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"lechat/model"
	"lechat/service"
)

func (s *Server) conversationRoutes(r gin.IRoutes) {
	r.GET("/conversations", s.handle(s.listConversations))
	r.POST("/conversations/private", s.handle(s.openPrivate))
	r.GET("/conversations/:id", s.handle(s.conversation))
	r.GET("/conversations/:id/messages", s.handle(s.messages))
	r.POST("/conversations/:id/read", s.handle(s.markRead))
}

func (s *Server) listConversations(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	list, err := s.chat.Conversations(c.Request.Context(), page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list)
	return nil
}

func (s *Server) openPrivate(c *gin.Context) error {
	var in struct {
		UserID uint64 `json:"user_id"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	conv, err := s.chat.OpenPrivate(c.Request.Context(), in.UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, conv)
	return nil
}

func (s *Server) conversation(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	conv, err := s.chat.Conversation(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, conv)
	return nil
}

func (s *Server) messages(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var h service.HistoryRequest
	if v, ok := c.GetQuery("after_seq"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return model.FieldErrorf(model.ErrInvalid, "after_seq", "after_seq must be a non-negative integer")
		}
		h.AfterSeq = &n
	}
	if v, ok := c.GetQuery("before_seq"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return model.FieldErrorf(model.ErrInvalid, "before_seq", "before_seq must be a non-negative integer")
		}
		h.BeforeSeq = n
	}
	if h.Limit, err = queryInt(c, "limit"); err != nil {
		return err
	}
	msgs, err := s.chat.Messages(c.Request.Context(), id, h)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": msgs})
	return nil
}

func (s *Server) markRead(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Seq *uint64 `json:"seq"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Seq == nil {
		return errRequired("seq")
	}
	if err := s.chat.MarkRead(c.Request.Context(), id, *in.Seq); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
