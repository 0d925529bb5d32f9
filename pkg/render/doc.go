// Package render turns a Cognito trigger into an email: a subject, an HTML
// body and a plain-text body, from templates chosen by trigger source and
// locale. Templates are parsed, CSS-inlined and trial-rendered once, in New;
// Render only executes them.
//
// # Templates
//
// The defaults are embedded; Options.OverrideDir may replace any of them
// with a file of the same relative path:
//
//	layout.html                 the HTML document: <style>, header (logo or
//	                            product name), {{template "content" .}} and
//	                            {{template "footer" .}}
//	layout.txt                  the plain-text frame, with the same two calls
//	<locale>/footer.html        the footer, per locale (en, es, de, fr, pt)
//	<locale>/footer.txt
//	<locale>/<Name>.subject.txt the subject (text/template)
//	<locale>/<Name>.html        the HTML content (html/template)
//	<locale>/<Name>.txt         the text content (text/template)
//	<locale>/<Name>.sms.txt     the text message of a Custom SMS Sender
//	                            source (text/template; RenderSMS)
//
// <Name> is a trigger source without its prefix (SignUp, ResendCode,
// ForgotPassword, UpdateUserAttribute, VerifyUserAttribute, AdminCreateUser,
// Authentication, AccountTakeOverNotification) or Generic, which renders
// sources this version does not know.
//
// The HTML layout's <style> rules are inlined into style attributes when the
// templates load, with the content and footer spliced into the layout so
// their elements are styled too. Template actions may therefore appear in
// element content and attribute values, but not inside <style> or in place of
// an attribute name; New reports either as an error naming the file.
//
// The layout's colours are written var(--cogmail-accent, #2563eb) (also
// background and text); New replaces each with the Brand's colour, or its
// default, before inlining, so emails carry plain colours. An override
// layout may use the same variables.
//
// Templates see a *Data. The HTML body is escaped by html/template, so a name
// like "José <b>&" shows as text; the text body and the subject print values
// verbatim. The subject is folded onto one line and stripped of control
// characters after rendering, so neither a template nor a user attribute can
// add a header.
//
// # Text messages
//
// RenderSMS renders a CustomSMSSender_ source's <Name>.sms.txt (the seven
// SMS sources have the email ones' names; Generic serves unknown ones) and
// reports its encoding and segment count (package segment). The built-in
// texts are written in the GSM 03.38 alphabet, dropping the accents it lacks
// ("codigo"), so that a code takes one 160-character segment rather than one
// of 70. Where the operator has taken charge of the SMS text (a segment
// limit, an origin domain or an SMS override; see Options.SMSSegments), New
// renders every SMS template with the worst case (see
// WorstTemporaryPassword) and refuses one that could take more than the
// limit; elsewhere Renderer.SMSOverflows reports it, for the CLI's warning.
// With Brand.OriginDomain, a code's message
// ends with the autofill line "@app.example.com #123456".
package render
