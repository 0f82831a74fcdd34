package service

import (
	"bytes"
	htmltemplate "html/template"
	texttemplate "text/template"

	"lechat/model"
)

type activationMailData struct {
	Name  string
	Link  string
	Hours int
}

var activationText = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.Name}}，你好！

欢迎使用乐聊。请打开下面的链接激活你的账号（{{.Hours}} 小时内有效）：

{{.Link}}

Hello {{.Name}},

Welcome to LeChat. Open this link to activate your account (valid for {{.Hours}} hours):

{{.Link}}

如果你没有注册乐聊，请忽略这封邮件。
If you did not sign up for LeChat, you can ignore this mail.
`))

var activationHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>LeChat</title></head>
<body style="font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;color:#222;max-width:560px;margin:0 auto;padding:24px">
<h2 style="color:#07c160">乐聊 LeChat</h2>
<p>{{.Name}}，你好！欢迎使用乐聊。请点击下面的按钮激活你的账号（{{.Hours}} 小时内有效）。</p>
<p>Hello {{.Name}}, welcome to LeChat. Click the button to activate your account (valid for {{.Hours}} hours).</p>
<p style="margin:28px 0"><a href="{{.Link}}" style="background:#07c160;color:#fff;padding:12px 24px;border-radius:6px;text-decoration:none">激活账号 · Activate account</a></p>
<p style="font-size:13px;color:#666">或复制此链接到浏览器 · Or paste this link into your browser:<br><a href="{{.Link}}">{{.Link}}</a></p>
<p style="font-size:13px;color:#999">如果你没有注册乐聊，请忽略这封邮件。If you did not sign up for LeChat, you can ignore this mail.</p>
</body></html>
`))

// activationMail builds the bilingual activation mail for u with its link.
func activationMail(u *model.User, link string, hours int) (model.Mail, error) {
	data := activationMailData{Name: u.DisplayName(), Link: link, Hours: hours}
	var text, html bytes.Buffer
	if err := activationText.Execute(&text, data); err != nil {
		return model.Mail{}, err
	}
	if err := activationHTML.Execute(&html, data); err != nil {
		return model.Mail{}, err
	}
	return model.Mail{To: u.Email, Subject: "激活你的乐聊账号 · Activate your LeChat account",
		Text: text.String(), HTML: html.String()}, nil
}
