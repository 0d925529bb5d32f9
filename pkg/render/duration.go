package render

import (
	"strconv"
	"time"
)

// units holds one language's words for the validity sentence: singular and
// plural of each unit, largest first, and the word joining two amounts.
type units struct {
	day, hour, minute, second [2]string
	and                       string
}

// durationWords covers the embedded locales' languages. The phrase is only
// ever used after the template's own "valid for" wording, so the plural forms
// are the ones that read naturally there (de "24 Stunden gültig", "7 Tage gültig").
var durationWords = map[string]units{
	"en": {[2]string{"day", "days"}, [2]string{"hour", "hours"}, [2]string{"minute", "minutes"}, [2]string{"second", "seconds"}, "and"},
	"es": {[2]string{"día", "días"}, [2]string{"hora", "horas"}, [2]string{"minuto", "minutos"}, [2]string{"segundo", "segundos"}, "y"},
	"de": {[2]string{"Tag", "Tage"}, [2]string{"Stunde", "Stunden"}, [2]string{"Minute", "Minuten"}, [2]string{"Sekunde", "Sekunden"}, "und"},
	"fr": {[2]string{"jour", "jours"}, [2]string{"heure", "heures"}, [2]string{"minute", "minutes"}, [2]string{"seconde", "secondes"}, "et"},
	"pt": {[2]string{"dia", "dias"}, [2]string{"hora", "horas"}, [2]string{"minuto", "minutos"}, [2]string{"segundo", "segundos"}, "e"},
}

// formatDuration says how long d is in the language of locale, for "valid
// for …" sentences: "24 hours", "7 days", "1 hour and 30 minutes", "3
// minutes". Whole days are used from two days up (Cognito's own wording for a
// one-day code is "24 hours"); seconds are dropped from anything of a minute
// or more, so the email never promises more time than the code has. It
// returns "" for d <= 0 and uses English for languages it does not know.
func formatDuration(locale string, d time.Duration) string {
	if d <= 0 {
		return ""
	}
	w, ok := durationWords[language(locale)]
	if !ok {
		w = durationWords["en"]
	}
	const day = 24 * time.Hour
	switch {
	case d >= 2*day && d%day == 0:
		return amount(int64(d/day), w.day)
	case d >= time.Hour:
		h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
		if m == 0 {
			return amount(h, w.hour)
		}
		return amount(h, w.hour) + " " + w.and + " " + amount(m, w.minute)
	case d >= time.Minute:
		return amount(int64(d/time.Minute), w.minute)
	default:
		return amount(max(int64(d/time.Second), 1), w.second)
	}
}

func amount(n int64, unit [2]string) string {
	if n == 1 {
		return "1 " + unit[0]
	}
	return strconv.FormatInt(n, 10) + " " + unit[1]
}

// language is the primary subtag of a canonical locale ("de" for "de-DE").
func language(locale string) string {
	for i := 0; i < len(locale); i++ {
		if locale[i] == '-' {
			return locale[:i]
		}
	}
	return locale
}
