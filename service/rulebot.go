package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// BotTurn is one message of a conversation with the robot, oldest first.
type BotTurn struct {
	FromUser bool // false: the robot said it
	Text     string
}

// Bot produces the robot's replies. Implemented by RuleBot (offline) and LLMBot.
type Bot interface {
	// Reply answers the last user turn of history. An error means no answer could
	// be made; the robot then says so itself.
	Reply(ctx context.Context, history []BotTurn) (string, error)
}

// RuleBot is the built-in robot: it greets, helps, tells the time and date, does
// arithmetic, tells jokes, and says politely when it does not understand — in
// Chinese when spoken to in Chinese, else in English.
type RuleBot struct {
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Location is the time zone it tells the time in.
	Location *time.Location
}

var _ Bot = (*RuleBot)(nil)

var jokesZH = []string{
	"程序员最讨厌的两件事：一是写文档，二是别人不写文档。",
	"为什么程序员分不清万圣节和圣诞节？因为 Oct 31 == Dec 25。",
	"我问服务器：你累吗？它说：我一直在 200 OK。",
}

var jokesEN = []string{
	"Why do programmers prefer dark mode? Because light attracts bugs.",
	"There are 10 kinds of people: those who understand binary and those who don't.",
	"I told my server a joke about UDP. I'm not sure it got it.",
}

// Reply implements Bot.
func (b *RuleBot) Reply(_ context.Context, history []BotTurn) (string, error) {
	var text string
	jokesTold := 0
	for _, t := range history {
		if t.FromUser {
			text = t.Text
		} else if containsAny(t.Text, jokesZH...) || containsAny(t.Text, jokesEN...) {
			jokesTold++
		}
	}
	zh := isChinese(text)
	msg := strings.ToLower(strings.TrimSpace(text))
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	loc := b.Location
	if loc == nil {
		loc = time.UTC
	}
	t := now().In(loc)
	pick := func(zhText, enText string) string {
		if zh {
			return zhText
		}
		return enText
	}
	expr, isMath := arithmetic(msg)
	switch {
	case msg == "":
		return pick("你好！发文字给我吧。", "Hi! Send me some text."), nil
	case isMath:
		v, err := evalArithmetic(expr)
		if err != nil {
			return pick("这道题我算不了："+zhMathError(err), "I can't work that out: "+err.Error()), nil
		}
		return expr + " = " + v, nil
	case hasWord(msg, "帮助", "help", "怎么用", "能做什么", "你会什么", "what can you do"):
		return pick("我是乐聊机器人。你可以：跟我打招呼；问我现在几点、今天几号；让我算算术（例如 12*(3+4)）；让我讲个笑话。",
			"I'm the LeChat robot. You can: say hello; ask me the time or the date; give me arithmetic (e.g. 12*(3+4)); ask for a joke."), nil
	case hasWord(msg, "几点", "时间", "what time", "the time", "time is it"):
		return pick("现在是 "+t.Format("15:04")+"（"+zoneName(loc)+"）。", "It's "+t.Format("15:04")+" ("+zoneName(loc)+")."), nil
	case hasWord(msg, "几号", "日期", "星期几", "今天", "date", "what day", "today"):
		weekZH := []string{"日", "一", "二", "三", "四", "五", "六"}[t.Weekday()]
		return pick(fmt.Sprintf("今天是 %d 年 %d 月 %d 日，星期%s。", t.Year(), t.Month(), t.Day(), weekZH),
			"Today is "+t.Format("Monday, 2 January 2006")+"."), nil
	case hasWord(msg, "笑话", "joke", "funny"):
		if zh {
			return jokesZH[jokesTold%len(jokesZH)], nil
		}
		return jokesEN[jokesTold%len(jokesEN)], nil
	case hasWord(msg, "你好", "您好", "嗨", "哈喽", "早上好", "晚上好", "hello", "hi", "hey", "good morning", "good evening"):
		return pick("你好！我是乐聊机器人，发“帮助”看看我会什么。", "Hello! I'm the LeChat robot. Say \"help\" to see what I can do."), nil
	case hasWord(msg, "谢谢", "多谢", "thanks", "thank you"):
		return pick("不客气！", "You're welcome!"), nil
	case hasWord(msg, "再见", "拜拜", "bye", "goodbye"):
		return pick("再见，随时来找我！", "Bye! Come back any time."), nil
	}
	return pick("抱歉，我没听懂。发“帮助”看看我会什么。", "Sorry, I didn't understand that. Say \"help\" to see what I can do."), nil
}

func zoneName(loc *time.Location) string {
	if loc == time.UTC {
		return "UTC"
	}
	return loc.String()
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// hasWord reports whether msg holds one of words: CJK words as substrings, Latin
// ones as whole words.
func hasWord(msg string, words ...string) bool {
	for _, w := range words {
		if isChinese(w) {
			if strings.Contains(msg, w) {
				return true
			}
			continue
		}
		for i := strings.Index(msg, w); i >= 0; {
			end := i + len(w)
			before := i == 0 || !isWordByte(msg[i-1])
			after := end == len(msg) || !isWordByte(msg[end])
			if before && after {
				return true
			}
			next := strings.Index(msg[i+1:], w)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return false
}

func isWordByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }

// isChinese reports whether s has any Han character.
func isChinese(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// arithmetic extracts an arithmetic expression from a message such as "1+2",
// "what is 3 * 4?", "计算 (2+3)/4" or "2+2等于几".
func arithmetic(msg string) (string, bool) {
	s := msg
	for _, p := range []string{"what is", "what's", "calculate", "compute", "计算", "算一下", "算算", "请问"} {
		s = strings.ReplaceAll(s, p, " ")
	}
	for _, p := range []string{"等于几", "等于多少", "是多少", "等于", "=", "?", "？"} {
		s = strings.ReplaceAll(s, p, " ")
	}
	s = strings.NewReplacer("×", "*", "÷", "/", "（", "(", "）", ")", "x", "*").Replace(s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	digits, ops := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-*/().", r):
			if r != '(' && r != ')' && r != '.' {
				ops++
			}
		case r == ' ':
		default:
			return "", false
		}
	}
	return strings.Join(strings.Fields(s), ""), digits > 0 && ops > 0
}

var (
	errDivZero = errors.New("division by zero")
	errSyntax  = errors.New("that is not an expression I can read")
	errTooBig  = errors.New("the numbers are too large")
)

func zhMathError(err error) string {
	switch err {
	case errDivZero:
		return "不能除以零。"
	case errTooBig:
		return "数字太大了。"
	}
	return "我看不懂这个算式。"
}

// evalArithmetic computes + - * / and parentheses over exact rationals and
// prints the result as an integer or a decimal.
func evalArithmetic(expr string) (string, error) {
	if len(expr) > 200 {
		return "", errTooBig
	}
	p := &exprParser{s: expr}
	v, err := p.sum(0)
	if err != nil {
		return "", err
	}
	if p.i != len(p.s) {
		return "", errSyntax
	}
	if v.IsInt() {
		return v.Num().String(), nil
	}
	f, _ := v.Float64()
	if math.IsInf(f, 0) {
		return "", errTooBig
	}
	return strconv.FormatFloat(f, 'g', 12, 64), nil
}

type exprParser struct {
	s string
	i int
}

const maxExprDepth = 50

func (p *exprParser) sum(depth int) (*big.Rat, error) {
	v, err := p.product(depth)
	if err != nil {
		return nil, err
	}
	for p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		op := p.s[p.i]
		p.i++
		w, err := p.product(depth)
		if err != nil {
			return nil, err
		}
		if op == '+' {
			v.Add(v, w)
		} else {
			v.Sub(v, w)
		}
	}
	return v, nil
}

func (p *exprParser) product(depth int) (*big.Rat, error) {
	v, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '/') {
		op := p.s[p.i]
		p.i++
		w, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		if op == '*' {
			v.Mul(v, w)
		} else {
			if w.Sign() == 0 {
				return nil, errDivZero
			}
			v.Quo(v, w)
		}
		if v.Num().BitLen() > 512 || v.Denom().BitLen() > 512 {
			return nil, errTooBig
		}
	}
	return v, nil
}

func (p *exprParser) unary(depth int) (*big.Rat, error) {
	if depth > maxExprDepth {
		return nil, errTooBig
	}
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
		v, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return v.Neg(v), nil
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		v, err := p.sum(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, errSyntax
		}
		p.i++
		return v, nil
	}
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
		p.i++
	}
	if start == p.i || p.i-start > 30 {
		if p.i-start > 30 {
			return nil, errTooBig
		}
		return nil, errSyntax
	}
	v, ok := new(big.Rat).SetString(p.s[start:p.i])
	if !ok {
		return nil, errSyntax
	}
	return v, nil
}
