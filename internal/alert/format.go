package alert

import (
	"github.com/slack-go/slack"

	"github.com/serin-dev/serin/internal/notify"
)

// The provider types an AlertProvider names.
const (
	TypeSlack   = "slack"
	TypeMSTeams = "msteams"
	TypeDiscord = "discord"
	TypeRocket  = "rocket"
	TypeGChat   = "gchat"
)

// slackMessage is the Slack incoming-webhook message that Slack, Discord
// (at its /slack endpoint) and Rocket.Chat all accept: one attachment
// coloured by severity, with the canary as author and the facts as fields.
func slackMessage(t Target, m Message, good, danger string) *slack.WebhookMessage {
	color := good
	if m.Severity == notify.SeverityError {
		color = danger
	}
	fields := make([]slack.AttachmentField, 0, len(m.Fields))
	for _, f := range m.Fields {
		fields = append(fields, slack.AttachmentField{Title: f.Name, Value: f.Value})
	}
	return &slack.WebhookMessage{
		Channel:   t.Channel,
		Username:  t.Username,
		IconEmoji: ":rocket:",
		Attachments: []slack.Attachment{{
			Color:      color,
			AuthorName: m.Subject(),
			Text:       m.Text,
			Fallback:   m.Subject() + ": " + m.Text,
			MarkdownIn: []string{"text"},
			Fields:     fields,
		}},
	}
}

// teamsCard is an Office 365 connector MessageCard, the format of Teams
// incoming webhooks: the text as activity title, the facts as facts, red
// for errors.
type teamsCard struct {
	Type       string         `json:"@type"`
	Context    string         `json:"@context"`
	ThemeColor string         `json:"themeColor"`
	Summary    string         `json:"summary"`
	Sections   []teamsSection `json:"sections"`
}

type teamsSection struct {
	ActivityTitle    string      `json:"activityTitle"`
	ActivitySubtitle string      `json:"activitySubtitle"`
	Facts            []teamsFact `json:"facts"`
}

type teamsFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func teamsMessage(m Message) teamsCard {
	color := "0076D7"
	if m.Severity == notify.SeverityError {
		color = "FF0000"
	}
	facts := make([]teamsFact, 0, len(m.Fields))
	for _, f := range m.Fields {
		facts = append(facts, teamsFact(f))
	}
	return teamsCard{
		Type: "MessageCard", Context: "http://schema.org/extensions", ThemeColor: color, Summary: m.Subject(),
		Sections: []teamsSection{{ActivityTitle: m.Text, ActivitySubtitle: m.Subject(), Facts: facts}},
	}
}

// gchatMessage is a Google Chat webhook message: the text, for
// notifications and clients without cards, and a card (cardsV2) with the
// canary as header and one decorated text per fact.
type gchatMessage struct {
	Text    string      `json:"text"`
	CardsV2 []gchatCard `json:"cardsV2"`
}

type gchatCard struct {
	CardID string `json:"cardId"`
	Card   struct {
		Header   gchatHeader    `json:"header"`
		Sections []gchatSection `json:"sections"`
	} `json:"card"`
}

type gchatHeader struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle"`
}

type gchatSection struct {
	Widgets []gchatWidget `json:"widgets"`
}

type gchatWidget struct {
	DecoratedText gchatDecoratedText `json:"decoratedText"`
}

type gchatDecoratedText struct {
	TopLabel string `json:"topLabel"`
	Text     string `json:"text"`
	WrapText bool   `json:"wrapText"`
}

func gchatPayload(m Message) gchatMessage {
	card := gchatCard{CardID: "serin"}
	card.Card.Header = gchatHeader{Title: m.Text, Subtitle: m.Subject()}
	if len(m.Fields) > 0 {
		var s gchatSection
		for _, f := range m.Fields {
			s.Widgets = append(s.Widgets, gchatWidget{DecoratedText: gchatDecoratedText{TopLabel: f.Name, Text: f.Value, WrapText: true}})
		}
		card.Card.Sections = []gchatSection{s}
	}
	return gchatMessage{Text: m.Subject() + ": " + m.Text, CardsV2: []gchatCard{card}}
}
