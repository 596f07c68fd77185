package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var localeFiles embed.FS

// Languages the console speaks; the first is the default.
func Languages() []string { return []string{"zh-CN", "en"} }

// Catalog holds the message catalogues.
type Catalog struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
}

// NewCatalog loads the embedded catalogues.
func NewCatalog() (*Catalog, error) {
	b := i18n.NewBundle(language.SimplifiedChinese)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: b, localizers: map[string]*i18n.Localizer{}}
	for _, lang := range Languages() {
		if _, err := b.LoadMessageFileFS(localeFiles, "locales/"+lang+".json"); err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", lang, err)
		}
		c.localizers[lang] = i18n.NewLocalizer(b, lang)
	}
	return c, nil
}

// Load adds a domain's catalogue: zh-CN.json and en.json at the root of fsys.
func (c *Catalog) Load(fsys fs.FS) error {
	for _, lang := range Languages() {
		if _, err := c.bundle.LoadMessageFileFS(fsys, lang+".json"); err != nil {
			return fmt.Errorf("web: catalogue %s: %w", lang, err)
		}
	}
	return nil
}

// Lang returns a supported language for a requested one (the default otherwise).
func (c *Catalog) Lang(requested string) string {
	if _, ok := c.localizers[requested]; ok {
		return requested
	}
	return Languages()[0]
}

// T translates key in lang with optional template data; a missing key shows as itself,
// and the catalogue test keeps that from reaching users.
func (c *Catalog) T(lang, key string, data map[string]any) string {
	l := c.localizers[c.Lang(lang)]
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: key, TemplateData: data})
	if err != nil {
		return key
	}
	return s
}

// Has reports whether key exists in lang.
func (c *Catalog) Has(lang, key string) bool {
	_, err := c.localizers[c.Lang(lang)].Localize(&i18n.LocalizeConfig{MessageID: key})
	return err == nil
}
