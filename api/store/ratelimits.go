package store

import (
	"context"
	"time"
)

// rateEventRow is one event a rate limit counts (migrations 00009).
type rateEventRow struct {
	ID     int64 `gorm:"primaryKey"`
	Bucket string
	Key    string
	At     time.Time
}

func (rateEventRow) TableName() string { return "rate_events" }

func init() {
	allRows = append(allRows, &rateEventRow{})
}

func (db *DB) RecordRateEvent(ctx context.Context, bucket, key string, at time.Time) error {
	if bucket == "" || key == "" {
		return invalid("rate event bucket and key are required")
	}
	err := db.write(ctx).Create(&rateEventRow{Bucket: bucket, Key: key, At: utc(at)}).Error
	return dbError(err, "record rate event", "rate event")
}

func (db *DB) CountRateEvents(ctx context.Context, bucket, key string, since time.Time) (int, error) {
	var n int64
	err := db.read(ctx).Model(&rateEventRow{}).
		Where("bucket = ? AND key = ? AND at > ?", bucket, key, utc(since)).Count(&n).Error
	if err != nil {
		return 0, dbError(err, "count rate events", "rate event")
	}
	return int(n), nil
}

func (db *DB) ClearRateEvents(ctx context.Context, bucket, key string) error {
	err := db.write(ctx).Where("bucket = ? AND key = ?", bucket, key).Delete(&rateEventRow{}).Error
	return dbError(err, "clear rate events", "rate event")
}

func (db *DB) PurgeRateEvents(ctx context.Context, before time.Time) (int, error) {
	res := db.write(ctx).Where("at < ?", utc(before)).Delete(&rateEventRow{})
	if res.Error != nil {
		return 0, dbError(res.Error, "purge rate events", "rate event")
	}
	return int(res.RowsAffected), nil
}
