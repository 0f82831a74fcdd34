package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"lechat/service"
)

func (s *Server) friendRoutes(r gin.IRoutes) {
	r.POST("/friend-requests", s.handle(s.sendFriendRequest))
	r.GET("/friend-requests", s.handle(s.friendRequests))
	r.POST("/friend-requests/:id/accept", s.handle(s.acceptFriendRequest))
	r.POST("/friend-requests/:id/reject", s.handle(s.rejectFriendRequest))
	r.GET("/friends", s.handle(s.listFriends))
	r.PATCH("/friends/:user_id", s.handle(s.setRemark))
	r.DELETE("/friends/:user_id", s.handle(s.removeFriend))
}

func (s *Server) sendFriendRequest(c *gin.Context) error {
	var in struct {
		ToUserID uint64 `json:"to_user_id"`
		Message  string `json:"message"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	req, created, err := s.friends.SendRequest(c.Request.Context(), in.ToUserID, in.Message)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, req)
	return nil
}

func (s *Server) friendRequests(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	list, err := s.friends.Requests(c.Request.Context(), c.Query("box"), page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list)
	return nil
}

func (s *Server) acceptFriendRequest(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	req, err := s.friends.Accept(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, req)
	return nil
}

func (s *Server) rejectFriendRequest(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	req, err := s.friends.Reject(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, req)
	return nil
}

func (s *Server) listFriends(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	list, err := s.friends.List(c.Request.Context(), page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list)
	return nil
}

func (s *Server) setRemark(c *gin.Context) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	var in struct {
		Remark *string `json:"remark"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Remark == nil {
		return errRequired("remark")
	}
	f, err := s.friends.SetRemark(c.Request.Context(), id, *in.Remark)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) removeFriend(c *gin.Context) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if err := s.friends.Remove(c.Request.Context(), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// pageRequest reads ?cursor= and ?limit=.
func pageRequest(c *gin.Context) (service.PageRequest, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return service.PageRequest{}, err
	}
	return service.PageRequest{Cursor: c.Query("cursor"), Limit: limit}, nil
}
