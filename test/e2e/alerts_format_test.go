package e2e

import (
	"bytes"
	"encoding/json"
	"testing"
)

// chatAlert is an alert as a chat service shows it, whatever its format.
type chatAlert struct {
	// text says what happened; subject names the canary (name.namespace).
	text, subject string
	// channel is where a Slack-compatible message asks to go; empty for
	// Teams and Google Chat, whose webhooks post to their own channel.
	channel string
	// danger is true when the message is coloured as an error (never for
	// Google Chat, whose cards have no colour).
	danger bool
	// facts are the named facts under the text.
	facts map[string]string
}

// parseChatAlert reads a post in the webhook format of typ, as each
// service documents it, and fails the test on anything else.
func parseChatAlert(t *testing.T, typ string, body []byte) chatAlert {
	t.Helper()
	switch typ {
	case "slack", "discord":
		return parseSlackAlert(t, typ, body, "good", "danger")
	case "rocket":
		return parseSlackAlert(t, typ, body, "#0076D7", "#FF0000")
	case "msteams":
		return parseTeamsAlert(t, body)
	case "gchat":
		return parseGChatAlert(t, body)
	}
	t.Fatalf("no format for %q", typ)
	return chatAlert{}
}

// parseSlackAlert reads a Slack incoming-webhook message, which Discord's
// /slack endpoint and Rocket.Chat also take: a channel and username, one
// attachment with a fallback, the colour good or danger (Rocket.Chat: hex),
// the canary as author, the text and the facts as title/value fields.
func parseSlackAlert(t *testing.T, typ string, body []byte, good, danger string) chatAlert {
	t.Helper()
	var m struct {
		Channel     string `json:"channel"`
		Username    string `json:"username"`
		Attachments []struct {
			Color      string `json:"color"`
			AuthorName string `json:"author_name"`
			Text       string `json:"text"`
			Fallback   string `json:"fallback"`
			Fields     []struct {
				Title string `json:"title"`
				Value string `json:"value"`
			} `json:"fields"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &m); err != nil || len(m.Attachments) != 1 {
		t.Fatalf("%s: not a Slack webhook message with one attachment (%v): %s", typ, err, body)
	}
	at := m.Attachments[0]
	if m.Username != "serin" || m.Channel == "" {
		t.Errorf("%s: username %q and channel %q, want the provider's", typ, m.Username, m.Channel)
	}
	if at.Color != good && at.Color != danger {
		t.Errorf("%s: colour %q, want %s or %s", typ, at.Color, good, danger)
	}
	if at.Fallback != at.AuthorName+": "+at.Text {
		t.Errorf("%s: fallback %q, want the subject and the text", typ, at.Fallback)
	}
	al := chatAlert{text: at.Text, subject: at.AuthorName, channel: m.Channel, danger: at.Color == danger, facts: map[string]string{}}
	for _, f := range at.Fields {
		al.facts[f.Title] = f.Value
	}
	return al
}

// parseTeamsAlert reads an Office 365 connector MessageCard, the format of
// Teams incoming webhooks: @type, @context, themeColor, summary and one
// section with the text as activity title and the facts as name/value.
func parseTeamsAlert(t *testing.T, body []byte) chatAlert {
	t.Helper()
	var card struct {
		Type       string `json:"@type"`
		Context    string `json:"@context"`
		ThemeColor string `json:"themeColor"`
		Summary    string `json:"summary"`
		Sections   []struct {
			ActivityTitle    string `json:"activityTitle"`
			ActivitySubtitle string `json:"activitySubtitle"`
			Facts            []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"facts"`
		} `json:"sections"`
	}
	if err := strictJSON(body, &card); err != nil || card.Type != "MessageCard" || card.Context != "http://schema.org/extensions" || len(card.Sections) != 1 {
		t.Fatalf("msteams: not a MessageCard with one section (%v): %s", err, body)
	}
	s := card.Sections[0]
	if card.Summary != s.ActivitySubtitle {
		t.Errorf("msteams: summary %q, want the canary %q", card.Summary, s.ActivitySubtitle)
	}
	if card.ThemeColor != "0076D7" && card.ThemeColor != "FF0000" {
		t.Errorf("msteams: themeColor %q, want 0076D7 or FF0000", card.ThemeColor)
	}
	al := chatAlert{text: s.ActivityTitle, subject: s.ActivitySubtitle, danger: card.ThemeColor == "FF0000", facts: map[string]string{}}
	for _, f := range s.Facts {
		al.facts[f.Name] = f.Value
	}
	return al
}

// parseGChatAlert reads a Google Chat webhook message: the text for
// clients without cards, and a cardsV2 card with the canary and the text
// as header and one decoratedText (topLabel, text) per fact. Google Chat
// cards have no colour: danger stays false.
func parseGChatAlert(t *testing.T, body []byte) chatAlert {
	t.Helper()
	var m struct {
		Text    string `json:"text"`
		CardsV2 []struct {
			CardID string `json:"cardId"`
			Card   struct {
				Header struct {
					Title    string `json:"title"`
					Subtitle string `json:"subtitle"`
				} `json:"header"`
				Sections []struct {
					Widgets []struct {
						DecoratedText struct {
							TopLabel string `json:"topLabel"`
							Text     string `json:"text"`
							WrapText bool   `json:"wrapText"`
						} `json:"decoratedText"`
					} `json:"widgets"`
				} `json:"sections"`
			} `json:"card"`
		} `json:"cardsV2"`
	}
	if err := strictJSON(body, &m); err != nil || len(m.CardsV2) != 1 || m.CardsV2[0].CardID == "" || len(m.CardsV2[0].Card.Sections) != 1 {
		t.Fatalf("gchat: not a message with one cardsV2 card of one section (%v): %s", err, body)
	}
	card := m.CardsV2[0].Card
	if m.Text != card.Header.Subtitle+": "+card.Header.Title {
		t.Errorf("gchat: text %q, want the canary and the card's title", m.Text)
	}
	al := chatAlert{text: card.Header.Title, subject: card.Header.Subtitle, facts: map[string]string{}}
	for _, w := range card.Sections[0].Widgets {
		al.facts[w.DecoratedText.TopLabel] = w.DecoratedText.Text
	}
	return al
}

// strictJSON decodes body into v, refusing fields v does not name: the
// payload has exactly the documented shape.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
