package service_test

import (
	"os"
	"testing"

	"lechat/service/servicetest"
)

func TestMain(m *testing.M) { os.Exit(servicetest.Main(m)) }
