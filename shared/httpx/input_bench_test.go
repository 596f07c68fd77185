package httpx

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gin-gonic/gin"
)

type benchLead struct {
	Name     string  `json:"name" maxlen:"100"`
	Category string  `json:"category" maxlen:"50"`
	Address  string  `json:"address" maxlen:"200"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	Phone    string  `json:"phone" maxlen:"32"`
	City     string  `json:"city" maxlen:"50"`
}

// What the contract costs a request: the parameter check on a GET with a path and two
// query parameters, on a GET with a path parameter only, and the walk of a decoded lead.
func BenchmarkInputContract(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	b.Run("params", func(b *testing.B) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/api/v1/users/0190a6b2-0000-7000-8000-000000000000?q=%E5%BC%A0&role=sales_rep", nil)
		c.Params = gin.Params{{Key: "id", Value: "0190a6b2-0000-7000-8000-000000000000"}}
		b.ReportAllocs()
		for b.Loop() {
			if err := paramsError(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("path_only", func(b *testing.B) { // GET /api/v1/users/{id}, the read the bench measures
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/api/v1/users/0190a6b2-0000-7000-8000-000000000000", nil)
		c.Params = gin.Params{{Key: "id", Value: "0190a6b2-0000-7000-8000-000000000000"}}
		b.ReportAllocs()
		for b.Loop() {
			if err := paramsError(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json_fields", func(b *testing.B) {
		v := &benchLead{Name: "老弄堂面馆 Old Lane Noodles", Category: "restaurant", Address: "上海市黄浦区方浜中路300号",
			Lat: 31.2305, Lng: 121.488, Phone: "+86 139-1234-5678", City: "上海"}
		b.ReportAllocs()
		for b.Loop() {
			if err := checkFields(reflect.ValueOf(v), "", DefaultMaxLen, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
