package floor

import "testing"

func TestMeasureCodec(t *testing.T) {
	c, err := MeasureCodec(2, 200000, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", c)
}
