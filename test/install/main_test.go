package install

import (
	"os"
	"testing"

	"github.com/serin-dev/serin/test/seed"
)

func TestMain(m *testing.M) { os.Exit(seed.Main(m, "install", "v1beta1")) }
