# LeChat: `make run` builds everything and starts the server on SQLite at
# http://localhost:8080; `make test` runs every test (Go, front-end unit, browser).

GO        ?= go
NPM       ?= npm
BIN       := bin/lechat
FRONTEND  := frontend
WEB_INDEX := $(FRONTEND)/dist/app/index.html
NPM_STAMP := $(FRONTEND)/node_modules/.lechat-installed
WEB_SRC   := $(shell find $(FRONTEND)/src $(FRONTEND)/public -type f 2>/dev/null) \
             $(wildcard $(FRONTEND)/index.html $(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig*.json)
GO_TEST_FLAGS ?= -race -count=1 -timeout 30m

.PHONY: run build web test test-go test-web test-e2e test-cordova vet clean

run: build
	./$(BIN)

build: web $(BIN)

# Always hand the binary to go build: its cache knows what changed.
.PHONY: $(BIN)
$(BIN): $(WEB_INDEX)
	$(GO) build -o $(BIN) .

web: $(WEB_INDEX)

$(NPM_STAMP): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && $(NPM) ci --no-audit --no-fund
	touch $@

$(WEB_INDEX): $(NPM_STAMP) $(WEB_SRC)
	cd $(FRONTEND) && $(NPM) run build

test: vet test-go test-web test-e2e test-cordova

vet:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './frontend/node_modules/*' -not -path './data/*')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	$(GO) test $(GO_TEST_FLAGS) ./...

test-web: $(NPM_STAMP)
	cd $(FRONTEND) && $(NPM) test

test-e2e: build
	cd $(FRONTEND) && LECHAT_BIN=$(CURDIR)/$(BIN) $(NPM) run test:e2e

# The Android package: the web app built for the app, then `cordova prepare android`
# (cordova-android comes from npm; building the APK needs the Android SDK, see docs/android.md).
test-cordova: $(NPM_STAMP)
	cd $(FRONTEND) && $(NPM) run cordova:prepare

clean:
	rm -rf bin $(FRONTEND)/dist/app $(FRONTEND)/node_modules $(FRONTEND)/cordova/www $(FRONTEND)/cordova/platforms $(FRONTEND)/cordova/plugins $(FRONTEND)/cordova/node_modules
