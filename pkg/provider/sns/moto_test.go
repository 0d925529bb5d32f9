package sns_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/sns"
)

// TestMoto sends through moto_server, the reference AWS emulator, which
// records each SMS publish (/moto-api/data.json, sns.SMS) and answers
// CheckIfPhoneNumberIsOptedOut true for numbers ending in 99.
func TestMoto(t *testing.T) {
	url := motoserver.Start(t)
	p, err := sns.New(sns.Config{AWS: motoserver.Config(), Endpoint: url, SenderID: "Cogmail", MaxPrice: "0.50"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	m := providertest.SMS()
	r, err := p.SendSMS(ctx, m)
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	out := m
	out.To = "+447700900199"
	_, err = p.SendSMS(ctx, out)
	if provider.ClassOf(err) != provider.Permanent || !provider.Suppresses(err) {
		t.Errorf("opted-out number: %v, want permanent and suppressed", err)
	}

	resp, err := http.Get(url + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SNS struct {
			SMS []struct {
				MessageID   string `json:"message_id"`
				PhoneNumber string `json:"phone_number"`
				Message     string `json:"message"`
			} `json:"SMS"`
		} `json:"sns"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	sms := data.SNS.SMS
	if len(sms) != 1 || sms[0].MessageID != r.ID || sms[0].PhoneNumber != m.To || sms[0].Message != m.Text {
		t.Errorf("moto recorded %+v, want only %s with the receipt's id %s", sms, m.To, r.ID)
	}
}
