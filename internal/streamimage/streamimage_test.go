package streamimage

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// record is a stream record as Lambda delivers it, with every data type.
const record = `{"NewImage": {
  "PK": {"S": "ORG#org_1"}, "amount": {"N": "-1250"}, "big": {"N": "9223372036854775807"},
  "blob": {"B": "aGVsbG8="}, "ok": {"BOOL": true}, "gone": {"NULL": true},
  "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "2.5"]}, "blobs": {"BS": ["AQ==", "Ag=="]},
  "list": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"deep": {"L": [{"BOOL": false}]}}}]},
  "money": {"M": {"amount": {"N": "4999"}, "currency": {"S": "USD"}}}, "empty": {"M": {}}
}}`

func TestItemKeepsEveryTypeAndValue(t *testing.T) {
	var rec events.DynamoDBStreamRecord
	if err := json.Unmarshal([]byte(record), &rec); err != nil {
		t.Fatal(err)
	}
	item, err := Item(rec.NewImage)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		PK     string           `dynamodbav:"PK"`
		Amount int64            `dynamodbav:"amount"`
		Big    int64            `dynamodbav:"big"`
		Blob   []byte           `dynamodbav:"blob"`
		OK     bool             `dynamodbav:"ok"`
		Gone   *string          `dynamodbav:"gone"`
		Tags   []string         `dynamodbav:"tags,stringset"`
		Nums   []float64        `dynamodbav:"nums,numberset"`
		Blobs  [][]byte         `dynamodbav:"blobs,binaryset"`
		List   []any            `dynamodbav:"list"`
		Money  map[string]any   `dynamodbav:"money"`
		Empty  map[string]any   `dynamodbav:"empty"`
		Extra  map[string]int64 `dynamodbav:"extra"`
	}
	if err := attributevalue.UnmarshalMap(item, &got); err != nil {
		t.Fatalf("the SDK rejects the converted item: %v", err)
	}
	if got.PK != "ORG#org_1" || got.Amount != -1250 || got.Big != 9223372036854775807 || string(got.Blob) != "hello" ||
		!got.OK || got.Gone != nil || !reflect.DeepEqual(got.Tags, []string{"a", "b"}) ||
		!reflect.DeepEqual(got.Nums, []float64{1, 2.5}) || !reflect.DeepEqual(got.Blobs, [][]byte{{1}, {2}}) ||
		got.Money["currency"] != "USD" || got.Money["amount"] != float64(4999) || got.Empty == nil || len(got.Empty) != 0 {
		t.Fatalf("converted item decodes as %+v", got)
	}
	deep := got.List[2].(map[string]any)["deep"].([]any)
	if got.List[0] != "x" || got.List[1] != float64(2) || deep[0] != false {
		t.Fatalf("nested list = %#v", got.List)
	}
}

func TestNilImage(t *testing.T) {
	item, err := Item(nil)
	if err != nil || item != nil {
		t.Fatalf("Item(nil) = %v, %v", item, err)
	}
}

// TestFromStreamsRoundTrip: an image read from the Streams API, delivered as
// Lambda would, converts back to the same SDK values.
func TestFromStreamsRoundTrip(t *testing.T) {
	in := map[string]streamtypes.AttributeValue{
		"s": &streamtypes.AttributeValueMemberS{Value: "x"}, "n": &streamtypes.AttributeValueMemberN{Value: "-7"},
		"b": &streamtypes.AttributeValueMemberB{Value: []byte{1, 2}}, "t": &streamtypes.AttributeValueMemberBOOL{Value: true},
		"z": &streamtypes.AttributeValueMemberNULL{Value: true}, "ss": &streamtypes.AttributeValueMemberSS{Value: []string{"a"}},
		"ns": &streamtypes.AttributeValueMemberNS{Value: []string{"1"}}, "bs": &streamtypes.AttributeValueMemberBS{Value: [][]byte{{3}}},
		"l": &streamtypes.AttributeValueMemberL{Value: []streamtypes.AttributeValue{&streamtypes.AttributeValueMemberS{Value: "y"}}},
		"m": &streamtypes.AttributeValueMemberM{Value: map[string]streamtypes.AttributeValue{"k": &streamtypes.AttributeValueMemberN{Value: "1"}}},
	}
	ev, err := FromStreams(in)
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as the Lambda runtime would carry it.
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	sdk, err := Item(back)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := attributevalue.UnmarshalMap(sdk, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"b":"AQI=","bs":["Aw=="],"l":["y"],"m":{"k":1},"n":-7,"ns":[1],"s":"x","ss":["a"],"t":true,"z":null}`
	if g, _ := json.Marshal(got); string(g) != want {
		t.Fatalf("round trip = %s\nwant        %s", g, want)
	}
}
