package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"lechat/model"
	"lechat/service"
)

func (s *Server) register(c *gin.Context) error {
	var in service.RegisterInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := s.accounts.Register(c.Request.Context(), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"user": u.Own()})
	return nil
}

func (s *Server) activate(c *gin.Context) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := s.accounts.Activate(c.Request.Context(), in.Token)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"user": u.Own()})
	return nil
}

func (s *Server) resendActivation(c *gin.Context) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := s.accounts.ResendActivation(c.Request.Context(), in.Email); err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "accepted"})
	return nil
}

func (s *Server) login(c *gin.Context) error {
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	res, err := s.accounts.Login(c.Request.Context(), in.Login, in.Password)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	if err := s.accounts.Logout(c.Request.Context()); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) me(c *gin.Context) error {
	u, err := s.accounts.Me(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u.Own())
	return nil
}

func (s *Server) updateMe(c *gin.Context) error {
	var p model.ProfilePatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	u, err := s.accounts.UpdateProfile(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u.Own())
	return nil
}

func (s *Server) changePassword(c *gin.Context) error {
	var in struct {
		OldPassword string `json:"old_password"`
		NewPassword string `json:"new_password"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := s.accounts.ChangePassword(c.Request.Context(), in.OldPassword, in.NewPassword); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) searchUsers(c *gin.Context) error {
	req, err := pageRequest(c)
	if err != nil {
		return err
	}
	page, err := s.accounts.SearchUsers(c.Request.Context(), c.Query("q"), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) user(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := s.accounts.User(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}
