package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// LoseStream moves the analytics feed's checkpoints to the stream's end
// without applying what is there, as if those changes had been lost (the
// heal test).
func LoseStream(s *Store) error {
	ctx := context.Background()
	st, _, err := s.settle(ctx)
	if err != nil {
		return err
	}
	read, err := s.readStream(ctx, st.Checkpoints, maxStreamRead)
	if err != nil {
		return err
	}
	p := pendingRun{Run: st.Run + 1, Owner: "lost", CreatedAt: time.Now(), Checkpoints: read.checkpoints, AsOf: st.AsOf}
	if err := s.claim(ctx, st, p); err != nil {
		return err
	}
	if err := s.markReady(ctx, p); err != nil {
		return err
	}
	return s.commit(ctx, p)
}

// ShardOf is shardOf, for the layout test.
func ShardOf(id string, n int) int { return shardOf(id, n) }

// ForgetSearchWords deletes every search word item of the table, as on a
// table written before the words existed.
func ForgetSearchWords(s *Store) error {
	ctx := context.Background()
	var start item
	for {
		out, err := s.c.Scan(ctx, &dynamodb.ScanInput{TableName: &s.table, FilterExpression: aws.String("#t = :w"),
			ExpressionAttributeNames: map[string]string{"#t": attrType}, ExpressionAttributeValues: item{":w": str(typeSearchWord)},
			ExclusiveStartKey: start})
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if _, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(getS(it, attrPK), getS(it, attrSK))}); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		start = out.LastEvaluatedKey
	}
}

// RawBytes is every value of every item of the table, strings and binary
// values as they are (storetest.RawStore).
func (s *Store) RawBytes(ctx context.Context) ([]byte, error) {
	var out []byte
	var flatten func(v types.AttributeValue)
	flatten = func(v types.AttributeValue) {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out = append(out, v.Value...)
		case *types.AttributeValueMemberB:
			out = append(out, v.Value...)
		case *types.AttributeValueMemberN:
			out = append(out, v.Value...)
		case *types.AttributeValueMemberSS:
			for _, x := range v.Value {
				out = append(out, x...)
			}
		case *types.AttributeValueMemberBS:
			for _, x := range v.Value {
				out = append(out, x...)
			}
		case *types.AttributeValueMemberL:
			for _, x := range v.Value {
				flatten(x)
			}
		case *types.AttributeValueMemberM:
			for k, x := range v.Value {
				out = append(out, k...)
				flatten(x)
			}
		}
		out = append(out, 0)
	}
	p := dynamodb.NewScanPaginator(scanner(s.c.Scan), &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			flatten(&types.AttributeValueMemberM{Value: it})
		}
	}
	return out, nil
}

// scanner is the store's Scan as the paginator's ScanAPIClient.
type scanner func(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)

func (f scanner) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return f(ctx, in, opts...)
}
